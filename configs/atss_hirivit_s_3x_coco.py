# ATSS + HIRI-ViT-S, 3x, multi-scale 960-1600 (paper).
_base_ = [
    'mmdet::atss/atss_r50_fpn_1x_coco.py',
    './_base_/hirivit_coco_recipe.py',
    './_base_/models/hirivit.py',
]

model = dict(
    data_preprocessor=dict(pad_size_divisor=64),
    backbone={{_base_.hirivit_backbone}},
    neck=dict(in_channels={{_base_.hirivit_channels}}),
    bbox_head=dict(
        anchor_generator=dict(strides={{_base_.hirivit_p3p7_strides}})))
train_dataloader = dict(
    batch_size=2, dataset=dict(pipeline={{_base_.hirivit_ms_train_pipeline}}))
val_dataloader = dict(dataset=dict(pipeline={{_base_.hirivit_test_pipeline}}))
test_dataloader = val_dataloader
optim_wrapper = {{_base_.hirivit_optim_wrapper}}
train_cfg = dict(max_epochs={{_base_.hirivit_3x_epochs}})
param_scheduler = {{_base_.hirivit_3x_param_scheduler}}
