# PVTv2-b2 behind HIRI-ViT's front (mmhirivit.HighResFront: HR-stem, two
# HR-blocks and IRDS-a in place of its first patch embedding) on ImageNet-1k
# at 448 (paper §5.7, Table 9). There is no plain PVTv2 classifier config:
# mmpretrain has no PVTv2, and mmdet's returns its maps as a list, which
# mmpretrain's necks refuse (HighResFront returns a tuple).
_base_ = './_base_/in1k_448.py'
model = dict(
    backbone=dict(
        _delete_=True,
        type='mmhirivit.HighResFront',
        backbone=dict(type='mmdet.PyramidVisionTransformerV2', embed_dims=64,
                      num_layers=[3, 4, 6, 3], drop_path_rate=0.1),
        out_indices=(4, )),
    head=dict(in_channels=512))
