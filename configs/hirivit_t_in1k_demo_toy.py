# EMA-distillation pretraining on the toy ImageNet, on CPU: the 448 recipe
# (configs/hirivit_s_in1k_448.py) with HIRI-ViT-T, 128-pixel crops and 20
# epochs of 240 images, to watch the distillation start at work
# (docs/pretraining.md). Write the data first:
#   python tools/misc/make_toy_data.py data/toy --kinds imagenet \
#       --num-train 240 --num-val 30 --size 128
_base_ = './hirivit_s_in1k_448.py'

data_root = 'data/toy/imagenet'
model = dict(backbone=dict(arch='t', drop_path_rate=0.),
             head=dict(in_channels=256))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=128, backend='pillow',
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
    dict(type='ResizeEdge', scale=146, edge='short', backend='pillow',
         interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=128),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=16, num_workers=2,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=30, num_workers=2,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
train_cfg = dict(max_epochs=20, val_interval=20)
default_hooks = dict(logger=dict(interval=5),
                     checkpoint=dict(interval=20))
randomness = dict(seed=0)
