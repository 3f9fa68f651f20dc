# HIRI-ViT-T (five stages) from scratch on Fashion-MNIST: the full 28x28
# photographs, scaled up to 112 (arm (c) of docs/real_images.md: twice the
# resolution of arm (a) at about arm (b)'s cost). Stages 2-5 run on 14x14,
# 7x7, 4x4 and 2x2 tokens, as the four-stage T at 56 does.
# Data: `make data` (Debian's dataset-fashion-mnist into data/fashion_mnist).
_base_ = ['mmpretrain::_base_/default_runtime.py']
custom_imports = dict(imports=['mmhirivit'], allow_failed_imports=False)

model = dict(
    type='ImageClassifier',
    # The photographs are grayscale: the backbone takes one channel.
    backbone=dict(type='mmhirivit.HIRIViT', arch='t', num_stages=5,
                  in_channels=1, out_indices=4),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=10, in_channels=256,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))

# Mean and std of the 60,000 training photographs, in 0-255 units.
data_preprocessor = dict(num_classes=10, mean=[72.94], std=[90.02],
                         to_rgb=False)

# The same augmentation of the 28x28 photograph in every arm, then the
# arm's resize.
train_pipeline = [
    dict(type='RandomCrop', crop_size=28, padding=2),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='Resize', scale=112, interpolation='bilinear'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='Resize', scale=112, interpolation='bilinear'),
    dict(type='PackInputs'),
]

data_root = 'data/fashion_mnist'
train_dataloader = dict(
    batch_size=128,
    num_workers=1,
    persistent_workers=True,
    dataset=dict(type='FashionMNIST', data_root=data_root, test_mode=False,
                 download=False, pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True))
# The 10,000 test photographs, evaluated once, after the last epoch.
val_dataloader = dict(
    batch_size=256,
    num_workers=1,
    persistent_workers=True,
    dataset=dict(type='FashionMNIST', data_root=data_root, test_mode=True,
                 download=False, pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False))
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_dataloader = val_dataloader
test_evaluator = val_evaluator

# Two epochs over the 60,000 photographs: one run of the slower arms takes
# under 10 minutes on one core of a 2-core CPU (docs/real_images.md).
max_epochs = 2
optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=2e-3, weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0,
         end=0.25, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=0.25, end=max_epochs,
         eta_min=1e-5, convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs,
                 val_interval=max_epochs)
val_cfg = dict()
test_cfg = dict()

default_hooks = dict(
    logger=dict(interval=100),
    checkpoint=dict(interval=max_epochs))
randomness = dict(seed=0)
