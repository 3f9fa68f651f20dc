# DaViT-T behind HIRI-ViT's front (mmhirivit.HighResFront: HR-stem, two
# HR-blocks and IRDS-a in place of its patch embedding) on ImageNet-1k at
# 448 (paper §5.7, Table 9).
_base_ = './_base_/in1k_448.py'
model = dict(
    backbone=dict(
        _delete_=True,
        type='mmhirivit.HighResFront',
        backbone=dict(type='mmpretrain.DaViT', arch='t',
                      pad_small_map=True, out_indices=(0, 1, 2, 3),
                      drop_path_rate=0.1),
        out_indices=(4, )),
    head=dict(in_channels=768))
