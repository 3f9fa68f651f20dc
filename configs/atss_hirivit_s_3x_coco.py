# ATSS + HIRI-ViT-S, 3x, multi-scale 960-1600 (paper, §5.2).
# mmdet's ATSS (atss/atss_r50_fpn_1x_coco.py), written as its changes to
# mmdet's RetinaNet model (head, assigner, NMS), with the HIRI-ViT changes of
# retinanet_hirivit_s_1x_coco.py, the 3x schedule and multi-scale training.
_base_ = [
    'mmdet::_base_/models/retinanet_r50_fpn.py',
    'mmdet::_base_/datasets/coco_detection.py',
    './_base_/schedules/hirivit_adamw_3x.py',
    'mmdet::_base_/default_runtime.py',
    './_base_/hirivit_coco_tta.py',
]
custom_imports = dict(imports=['mmhirivit'], allow_failed_imports=False)

model = dict(
    type='ATSS',
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
    neck=dict(in_channels=[64, 128, 320, 448], add_extra_convs='on_output'),
    bbox_head=dict(
        type='ATSSHead',
        # One anchor per location, 8 strides wide; strides doubled for the
        # double-size images (mmdet: 8-128).
        anchor_generator=dict(ratios=[1.0], octave_base_scale=8,
                              scales_per_octave=1,
                              strides=[16, 32, 64, 128, 256]),
        bbox_coder=dict(target_stds=[0.1, 0.1, 0.2, 0.2]),
        loss_bbox=dict(type='GIoULoss', loss_weight=2.0),
        loss_centerness=dict(type='CrossEntropyLoss', use_sigmoid=True,
                             loss_weight=1.0)),
    train_cfg=dict(
        _delete_=True,
        assigner=dict(type='ATSSAssigner', topk=9),
        allowed_border=-1,
        pos_weight=-1,
        debug=False),
    test_cfg=dict(nms=dict(iou_threshold=0.6)))

# Shorter side drawn from [960, 1600], longer side at most 2666; boxes only.
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomResize', scale=[(2666, 960), (2666, 1600)],
         keep_ratio=True),
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
