# COCO detection (boxes only) at twice the usual scale, 1x recipe.
_base_ = ['mmdet::_base_/datasets/coco_detection.py', '../hirivit_coco_recipe.py']

train_dataloader = dict(
    batch_size=2,
    dataset=dict(pipeline={{_base_.hirivit_box_train_pipeline}}))
val_dataloader = dict(
    dataset=dict(pipeline={{_base_.hirivit_box_test_pipeline}}))
test_dataloader = val_dataloader
