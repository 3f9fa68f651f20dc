# Cascade Mask R-CNN + HIRI-ViT-S, 3x, multi-scale 960-1600 (paper).
_base_ = [
    'mmdet::_base_/models/cascade-mask-rcnn_r50_fpn.py',
    './_base_/datasets/coco_instance_ms_2x_scale.py',
    './_base_/schedules/adamw_1x.py',
    'mmdet::_base_/default_runtime.py',
    './_base_/models/hirivit.py',
]

model = dict(
    data_preprocessor=dict(pad_size_divisor=64),
    backbone={{_base_.hirivit_backbone}},
    neck=dict(in_channels={{_base_.hirivit_channels}}),
    rpn_head=dict(
        anchor_generator=dict(strides={{_base_.hirivit_p2p6_strides}})),
    roi_head={{_base_.hirivit_mask_roi_head}})
train_cfg = dict(max_epochs={{_base_.hirivit_3x_epochs}})
param_scheduler = {{_base_.hirivit_3x_param_scheduler}}
