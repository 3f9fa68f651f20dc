# Mask R-CNN + HIRI-ViT-S, 1x, single scale 1600 x 2666 (paper, §5.2).
# mmdet's Mask R-CNN with what HIRI-ViT changes written out below; the other
# detector configs follow this one.
_base_ = [
    'mmdet::_base_/models/mask-rcnn_r50_fpn.py',
    'mmdet::_base_/datasets/coco_instance.py',
    './_base_/schedules/hirivit_adamw_1x.py',
    'mmdet::_base_/default_runtime.py',
    './_base_/hirivit_coco_tta.py',
]
custom_imports = dict(imports=['mmhirivit'], allow_failed_imports=False)

# The double-resolution rule (docs/architecture.md): images twice the usual
# size, so HIRI-ViT's stages 2-5 (strides 8-64) give the map sizes a
# four-stage backbone's C2-C5 give at the usual size, and every setting in
# image pixels doubles with the image: prior strides of P2-P6, RoI-extractor
# strides and finest_scale (56 -> 112), padding to the largest stride.
model = dict(
    data_preprocessor=dict(pad_size_divisor=64),
    backbone=dict(
        _delete_=True,
        type='mmhirivit.HIRIViT',
        arch='s',
        out_indices=(1, 2, 3, 4),
        drop_path_rate=0.2,
        # Stages 1-3 (HR-stem, HR-blocks, stage 3) recomputed in backward
        # instead of kept: one more forward of them per step for less
        # memory. Mask R-CNN at 1600x2666 beside mmdet's Swin-T at
        # 800x1333, on a CPU: peak memory 1.61x -> 0.96x Swin-T's at batch
        # 2 and 1.60x -> 1.11x at batch 1; step 1.56x -> 1.43x and 1.95x ->
        # 1.72x (the saved allocations outweighed the extra forward; on a
        # GPU expect the step to grow instead). docs/benchmarks.md,
        # "Recomputation at 1600x2666"; False keeps every activation.
        with_cp=(True, True, True, False, False),
        # Batch norm synchronised across GPUs (16 images), as mmseg does for
        # every model: frozen statistics would keep ImageNet's at 448 while
        # the input doubles to 1600. One-process and CPU runs use plain BN.
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        init_cfg=dict(
            type='Pretrained',
            checkpoint='checkpoints/hirivit_s_in1k_448_backbone.pth',
            prefix='backbone.')),
    # "All other newly added layers are initialised with Xavier" (§5.2):
    # mmdet's FPN and the box head's shared FCs already are (uniform). The
    # RPN and the box predictors keep mmdet's normal init (std 0.01, 0.001)
    # and the mask head its Kaiming init, which their losses are tuned for.
    neck=dict(in_channels=[64, 128, 320, 448]),
    rpn_head=dict(anchor_generator=dict(strides=[8, 16, 32, 64, 128])),
    roi_head=dict(
        bbox_roi_extractor=dict(featmap_strides=[8, 16, 32, 64],
                                finest_scale=112),
        mask_roi_extractor=dict(featmap_strides=[8, 16, 32, 64],
                                finest_scale=112)))

# Shorter side 1600, longer side at most 2666 (mmdet's 800 x 1333, doubled).
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=(2666, 1600), keep_ratio=True),
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
