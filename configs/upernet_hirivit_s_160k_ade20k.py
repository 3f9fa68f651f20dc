# UPerNet + HIRI-ViT-S on ADE20K, 160k iterations (paper): AdamW lr 6e-5,
# weight decay 0.01, 1500 linear warm-up iterations then linear decay,
# batch 16 as 8 GPUs x 2 images, 1024 x 1024 crops, sliding-window test.
_base_ = [
    'mmseg::_base_/models/upernet_r50.py',
    './_base_/datasets/ade20k_2x_scale.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_160k.py',
    './_base_/models/hirivit.py',
]

crop_size = {{_base_.crop_size}}
model = dict(
    pretrained=None,
    data_preprocessor=dict(size=crop_size),
    backbone={{_base_.hirivit_backbone}},
    decode_head=dict(in_channels={{_base_.hirivit_channels}},
                     in_index=[0, 1, 2, 3], num_classes=150),
    auxiliary_head=dict(in_channels=320, in_index=2, num_classes=150),
    test_cfg=dict(mode='slide', crop_size=crop_size, stride=(682, 682)))

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=6e-5, betas=(0.9, 0.999),
                   weight_decay=0.01),
    paramwise_cfg=dict(norm_decay_mult=0., bias_decay_mult=0.))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0,
         end=1500),
    dict(type='PolyLR', power=1.0, eta_min=0., by_epoch=False, begin=1500,
         end=160000)
]
auto_scale_lr = dict(enable=False, base_batch_size=16)
