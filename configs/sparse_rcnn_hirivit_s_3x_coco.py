# Sparse R-CNN + HIRI-ViT-S, 3x, multi-scale 960-1600 (paper), 100 learned
# proposals. Its learned proposals are relative to the image, so only the
# RoI extractor's strides and finest_scale double. Keeps mmdet's Sparse R-CNN
# optimiser settings (AdamW lr 2.5e-5, gradient clipping) with our
# no-decay-on-norms rule.
_base_ = [
    'mmdet::sparse_rcnn/sparse-rcnn_r50_fpn_1x_coco.py',
    './_base_/hirivit_coco_recipe.py',
    './_base_/models/hirivit.py',
]

model = {{_base_.hirivit_sparse_rcnn_model}}
train_dataloader = dict(
    batch_size=2, dataset=dict(pipeline={{_base_.hirivit_box_ms_train_pipeline}}))
val_dataloader = dict(dataset=dict(pipeline={{_base_.hirivit_box_test_pipeline}}))
test_dataloader = val_dataloader
optim_wrapper = dict(paramwise_cfg=dict(norm_decay_mult=0.,
                                        bias_decay_mult=0.))
train_cfg = dict(max_epochs={{_base_.hirivit_3x_epochs}})
param_scheduler = {{_base_.hirivit_3x_param_scheduler}}
