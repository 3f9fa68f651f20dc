# RetinaNet + HIRI-ViT-S, 1x, single scale 1600 x 2666 (paper).
_base_ = [
    'mmdet::_base_/models/retinanet_r50_fpn.py',
    './_base_/datasets/coco_instance_2x_scale.py',
    './_base_/schedules/adamw_1x.py',
    'mmdet::_base_/default_runtime.py',
    './_base_/models/hirivit.py',
]

model = dict(
    data_preprocessor=dict(pad_size_divisor=64),
    backbone={{_base_.hirivit_backbone}},
    neck=dict(in_channels={{_base_.hirivit_channels}}),
    bbox_head=dict(
        anchor_generator=dict(strides={{_base_.hirivit_p3p7_strides}})))
val_evaluator = dict(metric='bbox')
test_evaluator = val_evaluator
