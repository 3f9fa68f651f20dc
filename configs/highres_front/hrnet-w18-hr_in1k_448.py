# HRNet-W18 behind HIRI-ViT's front (mmhirivit.HighResFront: HR-stem, two
# HR-blocks and IRDS-a in place of its two-conv stem) on ImageNet-1k at 448
# (paper §5.7, Table 9); its four branches fused as in hrnet-w18_in1k_224.py.
_base_ = './_base_/in1k_448.py'
model = dict(
    backbone=dict(
        _delete_=True,
        type='mmhirivit.HighResFront',
        backbone=dict(type='mmpretrain.HRNet', arch='w18')),
    neck=[
        dict(type='HRFuseScales', in_channels=(18, 36, 72, 144)),
        dict(type='GlobalAveragePooling'),
    ],
    head=dict(in_channels=2048))
