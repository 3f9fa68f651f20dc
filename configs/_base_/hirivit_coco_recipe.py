# The paper's COCO recipe at twice the usual scale, as variables that every
# detection config draws from (mmengine forbids the same key in two sibling
# bases, so configs built on a full mmdet leaf config cannot also inherit
# dataset and schedule bases).
#
# 1x: shorter side 1600, longer side <= 2666. 3x: shorter side in [960, 1600].
# AdamW, no weight decay on norms and biases; batch 16 as 8 GPUs x 2 images.
hirivit_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=(2666, 1600), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
hirivit_ms_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='RandomResize', scale=[(2666, 960), (2666, 1600)],
         keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
hirivit_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(2666, 1600), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor'))
]

# Box-only detectors (RetinaNet, ATSS, GFL, Sparse R-CNN) load boxes only, as
# mmdet's coco_detection bases do: decoding masks at 1600x2666 is wasted.
# (mmengine leaves functions out of the config.)
_boxes_only = lambda pipeline: [  # noqa: E731
    dict(step, with_mask=False) if step['type'] == 'LoadAnnotations' else step
    for step in pipeline
]
hirivit_box_train_pipeline = _boxes_only(hirivit_train_pipeline)
hirivit_box_ms_train_pipeline = _boxes_only(hirivit_ms_train_pipeline)
hirivit_box_test_pipeline = _boxes_only(hirivit_test_pipeline)

hirivit_optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999),
                   weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0., bias_decay_mult=0.))
hirivit_3x_epochs = 36
hirivit_3x_param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0,
         end=500),
    dict(type='MultiStepLR', begin=0, end=36, by_epoch=True,
         milestones=[27, 33], gamma=0.1)
]
