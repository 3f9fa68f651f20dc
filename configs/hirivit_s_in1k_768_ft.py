# HIRI-ViT-S fine-tuned at 768 from the 448 model (paper: 30 epochs, lr 1e-5,
# weight decay 1e-8). Test: shorter side 878, centre crop 768 (ratio 0.875).
_base_ = './hirivit_s_in1k_448.py'

# The 448 classifier as trained (its state_dict holds the EMA weights).
load_from = 'checkpoints/hirivit_s_in1k_448.pth'

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=768, backend='pillow',
         interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(
        type='RandAugment',
        policies='timm_increasing',
        num_policies=2,
        total_level=10,
        magnitude_level=9,
        magnitude_std=0.5,
        hparams=dict(pad_val=[104, 116, 124], interpolation='bicubic')),
    dict(
        type='RandomErasing',
        erase_prob=0.25,
        mode='rand',
        min_area_ratio=0.02,
        max_area_ratio=1 / 3,
        fill_color=[103.53, 116.28, 123.675],
        fill_std=[57.375, 57.12, 58.395]),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=878, edge='short', backend='pillow',
         interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=768),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

optim_wrapper = dict(optimizer=dict(lr=1e-5, weight_decay=1e-8))
# Layer-wise learning-rate decay, not in the paper's recipe (docs/training.md):
# optim_wrapper = dict(
#     constructor='LearningRateDecayOptimWrapperConstructor',
#     paramwise_cfg=dict(layer_decay_rate=0.9))
# No warm-up (ours): the model starts trained.
param_scheduler = [
    dict(type='CosineAnnealingLR', eta_min=1e-7, by_epoch=True, begin=0,
         end=30, convert_to_iter_based=True)
]
train_cfg = dict(max_epochs=30)
