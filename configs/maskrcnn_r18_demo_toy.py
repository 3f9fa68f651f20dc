# The usual choice the demo is measured against: mmdet's Mask R-CNN with a
# ResNet-18 + FPN trained from scratch, at the usual scale (the 256-pixel toy
# images as they are) and strides. Data are the demo's
# (maskrcnn_hirivit_t_demo_toy.py); the CPU levers and the schedule are the
# reference run's: RoI sampler 128, 300 proposals, RoIAlign sampling_ratio=2,
# batch 4, AdamW 4e-4, 290 iterations, chosen to give it at least the demo's
# wall time (docs/demo.md).
_base_ = './maskrcnn_hirivit_t_demo_toy.py'

image_scale = (256, 256)
max_iters = 290
roi_layer = dict(type='RoIAlign', output_size=7, sampling_ratio=2)

model = dict(
    data_preprocessor=dict(pad_size_divisor=32),
    backbone=dict(
        _delete_=True,
        type='ResNet',
        depth=18,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        frozen_stages=-1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        style='pytorch',
        init_cfg=None),
    neck=dict(in_channels=[64, 128, 256, 512]),
    rpn_head=dict(anchor_generator=dict(strides=[4, 8, 16, 32, 64])),
    roi_head=dict(
        bbox_roi_extractor=dict(roi_layer=roi_layer,
                                featmap_strides=[4, 8, 16, 32],
                                finest_scale=56),
        mask_roi_extractor=dict(roi_layer=dict(roi_layer, output_size=14),
                                featmap_strides=[4, 8, 16, 32],
                                finest_scale=56)),
    train_cfg=dict(rcnn=dict(sampler=dict(num=128))))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                    'scale_factor'))
]
train_dataloader = dict(batch_size=4, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
# tools/test.py --tta keeps the HIRI-ViT-T demo's set (384, 192 and 576).

train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
# The reference run's optimizer: one learning rate for the whole model, not
# the demo's lower one for the RoI box head.
optim_wrapper = dict(optimizer=dict(lr=4e-4),
                     paramwise_cfg=dict(custom_keys=dict(_delete_=True)))
auto_scale_lr = dict(base_batch_size=4)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0,
         end=30),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=30, end=max_iters,
         eta_min=1e-6)
]
