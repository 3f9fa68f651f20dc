# The reference the demo (maskrcnn_hirivit_t_demo_toy.py) is measured
# against: mmdet's own Mask R-CNN with a ResNet-18 + FPN trained from scratch
# on the same toy COCO data, at the images' own 256-pixel scale and mmdet's
# strides. Nothing here comes from the HIRI-ViT configs: what the two runs
# share (data, CPU levers, schedule shape) is stated in each, and
# docs/demo.md says how the settings were chosen.
_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'

data_root = 'data/toy/coco/'
# The toy shapes carry COCO names: circle, triangle, square.
metainfo = dict(classes=('sports ball', 'kite', 'book'))
image_scale = (256, 256)
max_iters = 290
roi_layer = dict(type='RoIAlign', output_size=7, sampling_ratio=2)

model = dict(
    backbone=dict(depth=18, frozen_stages=-1,
                  norm_cfg=dict(type='BN', requires_grad=True),
                  norm_eval=False, init_cfg=None),
    neck=dict(in_channels=[64, 128, 256, 512]),
    roi_head=dict(
        bbox_roi_extractor=dict(roi_layer=roi_layer),
        mask_roi_extractor=dict(roi_layer=dict(roi_layer, output_size=14)),
        bbox_head=dict(num_classes=3),
        mask_head=dict(num_classes=3)),
    # The CPU levers: fewer proposals and RoI samples than mmdet's COCO run.
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=1000, max_per_img=300),
        rcnn=dict(sampler=dict(num=128))),
    test_cfg=dict(rpn=dict(nms_pre=1000, max_per_img=300)))

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
train_dataloader = dict(
    batch_size=4,
    num_workers=1,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(data_root=data_root, metainfo=metainfo,
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=1,
    dataset=dict(data_root=data_root, metainfo=metainfo,
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val2017.json')
test_evaluator = val_evaluator

train_cfg = dict(_delete_=True, type='IterBasedTrainLoop',
                 max_iters=max_iters, val_interval=max_iters)
# AdamW for the whole model at one rate (weight decay 0.05, none on norms and
# biases), 30 warm-up iterations, then cosine decay.
optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='AdamW', lr=4e-4, betas=(0.9, 0.999),
                   weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0., bias_decay_mult=0.))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0,
         end=30),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=30, end=max_iters,
         eta_min=1e-6)
]
auto_scale_lr = dict(base_batch_size=4)
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(by_epoch=False, interval=200, max_keep_ckpts=2))
log_processor = dict(by_epoch=False)
randomness = dict(seed=0)
