# UPerNet + HIRI-ViT-S on ADE20K, 160k iterations (paper, §5.3): AdamW
# lr 6e-5, weight decay 0.01, 1500 linear warm-up iterations then linear
# decay, batch 16 as 8 GPUs x 2 images, sliding-window test. mmseg's UPerNet
# with what HIRI-ViT changes written out below.
_base_ = [
    'mmseg::_base_/models/upernet_r50.py',
    'mmseg::_base_/datasets/ade20k.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_160k.py',
]
custom_imports = dict(imports=['mmhirivit'], allow_failed_imports=False)

# Twice mmseg's usual scale (the double-resolution rule): 1024 x 1024 crops,
# and HIRI-ViT's stages 2-5 feed the decode head as a four-stage backbone's
# C2-C5 do at the usual scale; the auxiliary head reads stage 4.
crop_size = (1024, 1024)
model = dict(
    pretrained=None,
    data_preprocessor=dict(size=crop_size),
    backbone=dict(
        _delete_=True,
        type='mmhirivit.HIRIViT',
        arch='s',
        out_indices=(1, 2, 3, 4),
        drop_path_rate=0.2,
        # Synchronised batch norm, as mmseg uses for every model.
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        init_cfg=dict(
            type='Pretrained',
            checkpoint='checkpoints/hirivit_s_in1k_448_backbone.pth',
            prefix='backbone.')),
    decode_head=dict(in_channels=[64, 128, 320, 448],
                     in_index=[0, 1, 2, 3], num_classes=150),
    auxiliary_head=dict(in_channels=320, in_index=2, num_classes=150),
    test_cfg=dict(mode='slide', crop_size=crop_size, stride=(682, 682)))

# Rescaled around 4096 x 1024 (mmseg's 2048 x 512, doubled) with ratio
# [0.5, 2.0], cropped, flipped and photometrically distorted (paper: "other
# settings as Swin's"); tested at 4096 x 1024.
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='RandomResize', scale=(4096, 1024), ratio_range=(0.5, 2.0),
         keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(4096, 1024), keep_ratio=True),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='PackSegInputs')
]
train_dataloader = dict(batch_size=2, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
# tools/test.py --tta: mmseg's ADE20K multi-scale + flip set ("ms+flip",
# mmseg's SegTTAModel averages the views), its ratios of the original image
# doubled (0.5-1.75 -> 1.0-3.5).
tta_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='TestTimeAug',
        transforms=[
            [dict(type='Resize', scale_factor=r, keep_ratio=True)
             for r in [1.0, 1.5, 2.0, 2.5, 3.0, 3.5]],
            [dict(type='RandomFlip', prob=0., direction='horizontal'),
             dict(type='RandomFlip', prob=1., direction='horizontal')],
            [dict(type='LoadAnnotations', reduce_zero_label=True)],
            [dict(type='PackSegInputs')],
        ])
]

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=6e-5, betas=(0.9, 0.999),
                   weight_decay=0.01),
    paramwise_cfg=dict(norm_decay_mult=0., bias_decay_mult=0.))
# Layer-wise learning-rate decay, not in the paper's recipe (docs/training.md):
# optim_wrapper = dict(
#     constructor='mmhirivit.BackboneLayerDecayOptimWrapperConstructor',
#     paramwise_cfg=dict(layer_decay_rate=0.9))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0,
         end=1500),
    dict(type='PolyLR', power=1.0, eta_min=0., by_epoch=False, begin=1500,
         end=160000)
]
auto_scale_lr = dict(enable=False, base_batch_size=16)
