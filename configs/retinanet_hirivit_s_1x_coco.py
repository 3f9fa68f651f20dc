# RetinaNet + HIRI-ViT-S, 1x, single scale 1600 x 2666 (paper, §5.2).
# mmdet's RetinaNet with what HIRI-ViT changes written out below, as in
# maskrcnn_hirivit_s_1x_coco.py; ATSS and GFL follow this config.
_base_ = [
    'mmdet::_base_/models/retinanet_r50_fpn.py',
    'mmdet::_base_/datasets/coco_detection.py',
    './_base_/schedules/hirivit_adamw_1x.py',
    'mmdet::_base_/default_runtime.py',
    './_base_/hirivit_coco_tta.py',
]
custom_imports = dict(imports=['mmhirivit'], allow_failed_imports=False)

# Twice the usual image size: HIRI-ViT's stages 2-5 feed FPN levels P3-P7
# (start_level=1) whose prior strides double (8-128 -> 16-256).
model = dict(
    data_preprocessor=dict(pad_size_divisor=64),
    backbone=dict(
        _delete_=True,
        type='mmhirivit.HIRIViT',
        arch='s',
        out_indices=(1, 2, 3, 4),
        drop_path_rate=0.2,
        # Stages 1-3 recomputed in backward, for memory at 1600x2666
        # (docs/training.md, "Recomputation").
        with_cp=(True, True, True, False, False),
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        init_cfg=dict(
            type='Pretrained',
            checkpoint='checkpoints/hirivit_s_in1k_448_backbone.pth',
            prefix='backbone.')),
    neck=dict(in_channels=[64, 128, 320, 448]),
    bbox_head=dict(anchor_generator=dict(strides=[16, 32, 64, 128, 256])))

# Shorter side 1600, longer side at most 2666; boxes only, as mmdet's
# coco_detection (decoding masks at this size is wasted work).
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(2666, 1600), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(2666, 1600), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor'))
]
train_dataloader = dict(batch_size=2, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
