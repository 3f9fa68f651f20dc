# Mask R-CNN with HRNet-W18 behind HIRI-ViT's front, 1x at 1600 x 2666
# (paper §5.7): maskrcnn_hirivit_s_1x_coco.py with the backbone swapped and
# mmdet's HRNet neck (HRFPN, as its HRNet Mask R-CNN); branches at strides
# 8-64 as HIRI-ViT's stages 2-5, so the doubled strides and scales hold.
_base_ = '../maskrcnn_hirivit_s_1x_coco.py'
model = dict(
    backbone=dict(
        _delete_=True,
        type='mmhirivit.HighResFront',
        backbone=dict(type='mmpretrain.HRNet', arch='w18'),
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        init_cfg=dict(
            type='Pretrained',
            checkpoint='checkpoints/hrnet-w18-hr_in1k_448_backbone.pth',
            prefix='backbone.')),
    neck=dict(_delete_=True, type='HRFPN', in_channels=[18, 36, 72, 144],
              out_channels=256))
