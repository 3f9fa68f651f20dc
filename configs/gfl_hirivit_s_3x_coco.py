# GFL + HIRI-ViT-S, 3x, multi-scale 960-1600 (paper).
_base_ = [
    'mmdet::gfl/gfl_r50_fpn_1x_coco.py',
    './_base_/hirivit_coco_recipe.py',
    './_base_/models/hirivit.py',
]

model = {{_base_.hirivit_one_stage_model}}
train_dataloader = dict(
    batch_size=2, dataset=dict(pipeline={{_base_.hirivit_box_ms_train_pipeline}}))
val_dataloader = dict(dataset=dict(pipeline={{_base_.hirivit_box_test_pipeline}}))
test_dataloader = val_dataloader
optim_wrapper = {{_base_.hirivit_optim_wrapper}}
train_cfg = dict(max_epochs={{_base_.hirivit_3x_epochs}})
param_scheduler = {{_base_.hirivit_3x_param_scheduler}}
