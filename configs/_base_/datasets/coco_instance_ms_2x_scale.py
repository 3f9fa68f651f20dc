# Multi-scale training for the 3x schedule (paper): shorter side in
# [960, 1600], longer side at most 2666, twice mmdet's [480, 800] / 1333.
_base_ = './coco_instance_2x_scale.py'

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args={{_base_.backend_args}}),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='RandomResize', scale=[(2666, 960), (2666, 1600)],
         keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
