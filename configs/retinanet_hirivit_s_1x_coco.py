# RetinaNet + HIRI-ViT-S, 1x, single scale 1600 x 2666 (paper).
_base_ = [
    'mmdet::_base_/models/retinanet_r50_fpn.py',
    './_base_/datasets/coco_detection_2x_scale.py',
    './_base_/schedules/adamw_1x.py',
    'mmdet::_base_/default_runtime.py',
    './_base_/models/hirivit.py',
]

model = {{_base_.hirivit_one_stage_model}}
