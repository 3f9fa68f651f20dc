# Cascade Mask R-CNN + HIRI-ViT-S, 3x, multi-scale 960-1600 (paper).
_base_ = [
    'mmdet::_base_/models/cascade-mask-rcnn_r50_fpn.py',
    './_base_/datasets/coco_instance_ms_2x_scale.py',
    './_base_/schedules/adamw_1x.py',
    'mmdet::_base_/default_runtime.py',
    './_base_/models/hirivit.py',
]

model = {{_base_.hirivit_two_stage_model}}
train_cfg = dict(max_epochs={{_base_.hirivit_3x_epochs}})
param_scheduler = {{_base_.hirivit_3x_param_scheduler}}
