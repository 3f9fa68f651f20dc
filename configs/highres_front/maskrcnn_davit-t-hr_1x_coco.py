# Mask R-CNN with DaViT-T behind HIRI-ViT's front, 1x at 1600 x 2666 (paper
# §5.7): maskrcnn_hirivit_s_1x_coco.py with the backbone swapped; strides
# 8-64 as HIRI-ViT's stages 2-5, so its doubled strides and scales hold.
_base_ = '../maskrcnn_hirivit_s_1x_coco.py'
model = dict(
    backbone=dict(
        _delete_=True,
        type='mmhirivit.HighResFront',
        backbone=dict(type='mmpretrain.DaViT', arch='t',
                      pad_small_map=True, out_indices=(0, 1, 2, 3),
                      drop_path_rate=0.2),
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        init_cfg=dict(
            type='Pretrained',
            checkpoint='checkpoints/davit-t-hr_in1k_448_backbone.pth',
            prefix='backbone.')),
    neck=dict(in_channels=[96, 192, 384, 768]))
