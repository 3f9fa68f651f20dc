# Cascade Mask R-CNN + HIRI-ViT-S, 3x, multi-scale 960-1600 (paper, §5.2).
# mmdet's Cascade Mask R-CNN with the changes of
# maskrcnn_hirivit_s_1x_coco.py, the 3x schedule and multi-scale training.
_base_ = [
    'mmdet::_base_/models/cascade-mask-rcnn_r50_fpn.py',
    'mmdet::_base_/datasets/coco_instance.py',
    './_base_/schedules/hirivit_adamw_3x.py',
    'mmdet::_base_/default_runtime.py',
    './_base_/hirivit_coco_tta.py',
]
custom_imports = dict(imports=['mmhirivit'], allow_failed_imports=False)

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
    rpn_head=dict(anchor_generator=dict(strides=[8, 16, 32, 64, 128])),
    roi_head=dict(
        bbox_roi_extractor=dict(featmap_strides=[8, 16, 32, 64],
                                finest_scale=112),
        mask_roi_extractor=dict(featmap_strides=[8, 16, 32, 64],
                                finest_scale=112)))

# Shorter side drawn from [960, 1600] (mmdet's 3x [480, 800], doubled),
# longer side at most 2666; tested at 1600.
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='RandomResize', scale=[(2666, 960), (2666, 1600)],
         keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(2666, 1600), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor'))
]
train_dataloader = dict(batch_size=2, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
