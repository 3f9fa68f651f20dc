# Mask R-CNN + HIRI-ViT-B, 1x, single scale 1600 x 2666 (paper, §5.2):
# the S config with the B backbone and its stage-5 width.
_base_ = './maskrcnn_hirivit_s_1x_coco.py'

model = dict(
    backbone=dict(
        arch='b',
        drop_path_rate=0.3,
        init_cfg=dict(
            checkpoint='checkpoints/hirivit_b_in1k_448_backbone.pth')),
    neck=dict(in_channels=[64, 128, 320, 512]))
