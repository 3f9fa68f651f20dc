# COCO instance segmentation at twice the usual scale, multi-scale 3x recipe.
_base_ = './coco_instance_2x_scale.py'

train_dataloader = dict(
    dataset=dict(pipeline={{_base_.hirivit_ms_train_pipeline}}))
