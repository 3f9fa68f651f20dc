# Mask R-CNN with PVTv2-b2 behind HIRI-ViT's front, 1x at 1600 x 2666 (paper
# §5.7): maskrcnn_hirivit_s_1x_coco.py with the backbone swapped; strides
# 8-64 as HIRI-ViT's stages 2-5, so its doubled strides and scales hold.
_base_ = '../maskrcnn_hirivit_s_1x_coco.py'
model = dict(
    backbone=dict(
        _delete_=True,
        type='mmhirivit.HighResFront',
        backbone=dict(type='mmdet.PyramidVisionTransformerV2', embed_dims=64,
                      num_layers=[3, 4, 6, 3], drop_path_rate=0.2),
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        init_cfg=dict(
            type='Pretrained',
            checkpoint='checkpoints/pvtv2-b2-hr_in1k_448_backbone.pth',
            prefix='backbone.')),
    neck=dict(in_channels=[64, 128, 320, 512]))
