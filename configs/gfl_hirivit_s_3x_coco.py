# GFL + HIRI-ViT-S, 3x, multi-scale 960-1600 (paper, §5.2).
# mmdet's GFL (gfl/gfl_r50_fpn_1x_coco.py) is ATSS with the generalized focal
# head: atss_hirivit_s_3x_coco.py with mmdet's GFL head (anchor strides
# doubled, as in ATSS).
_base_ = './atss_hirivit_s_3x_coco.py'

model = dict(
    type='GFL',
    bbox_head=dict(
        _delete_=True,
        type='GFLHead',
        num_classes=80,
        in_channels=256,
        stacked_convs=4,
        feat_channels=256,
        anchor_generator=dict(type='AnchorGenerator', ratios=[1.0],
                              octave_base_scale=8, scales_per_octave=1,
                              strides=[16, 32, 64, 128, 256]),
        loss_cls=dict(type='QualityFocalLoss', use_sigmoid=True, beta=2.0,
                      loss_weight=1.0),
        loss_dfl=dict(type='DistributionFocalLoss', loss_weight=0.25),
        reg_max=16,
        loss_bbox=dict(type='GIoULoss', loss_weight=2.0)))
