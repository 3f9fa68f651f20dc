# Mask R-CNN + HRViT-b2 on COCO, 1x at mmdet's usual scale (800 x 1333):
# mmdet's Swin-T Mask R-CNN 1x setting (AdamW 1e-4, weight decay 0.05, none
# on norms, batch 16 as 8 GPUs x 2 images) with HRViT's four branches
# (strides 4-32) into the FPN, drop path 0.2. HRViT published no COCO
# figures; this config puts it beside HIRI-ViT's detectors.
_base_ = 'mmdet::swin/mask-rcnn_swin-t-p4-w7_fpn_1x_coco.py'
custom_imports = dict(imports=['mmhirivit'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        _delete_=True,
        type='mmhirivit.HRViT',
        arch='b2',
        drop_path_rate=0.2,
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        init_cfg=dict(type='Pretrained',
                      checkpoint='checkpoints/hrvit_b2_in1k_224_backbone.pth',
                      prefix='backbone.')),
    neck=dict(in_channels=[48, 96, 240, 384]))

optim_wrapper = dict(paramwise_cfg=dict(_delete_=True, norm_decay_mult=0.))
