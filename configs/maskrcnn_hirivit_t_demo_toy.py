# The README's main job: Mask R-CNN + HIRI-ViT-T trained from scratch on the
# toy COCO data (tools/misc/make_toy_data.py) on CPU. The real Mask R-CNN
# config with only scale, data and schedule changed, plus the CPU levers
# (fewer proposals and RoI samples, RoIAlign sampling_ratio=1). How these
# settings were chosen, and the runs: docs/demo.md.
_base_ = './maskrcnn_hirivit_s_1x_coco.py'

data_root = 'data/toy/coco/'
# The toy shapes carry COCO names: circle, triangle, square.
metainfo = dict(classes=('sports ball', 'kite', 'book'))
# 1.5x the 256-pixel toy images, not the paper's 2x: the FPN and RPN convs
# on the finest map set the step time, and 384 fits more updates in a run.
image_scale = (384, 384)
max_iters = 920
roi_layer = dict(type='RoIAlign', output_size=7, sampling_ratio=1)

model = dict(
    # At 384 pixels the activations fit: none recomputed.
    backbone=dict(arch='t', drop_path_rate=0., init_cfg=None, with_cp=False),
    neck=dict(in_channels=[32, 64, 128, 256]),
    roi_head=dict(
        bbox_roi_extractor=dict(roi_layer=roi_layer),
        mask_roi_extractor=dict(roi_layer=dict(roi_layer, output_size=14)),
        bbox_head=dict(num_classes=3),
        mask_head=dict(num_classes=3)),
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=1000, max_per_img=300),
        rcnn=dict(sampler=dict(num=64))),
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
# Batch 2: twice the updates of batch 4 in the same time.
train_dataloader = dict(
    batch_size=2,
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
# tools/test.py --tta: the COCO configs' set (1x, 0.5x and 1.5x the test
# scale, with and without flip) at the demo's scale.
tta_img_scales = [image_scale, (192, 192), (576, 576)]
tta_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='TestTimeAug',
        transforms=[
            [dict(type='Resize', scale=s, keep_ratio=True)
             for s in tta_img_scales],
            [dict(type='RandomFlip', prob=1.),
             dict(type='RandomFlip', prob=0.)],
            [dict(type='LoadAnnotations', with_bbox=True)],
            [dict(type='PackDetInputs',
                  meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                             'scale_factor', 'flip', 'flip_direction'))],
        ])
]
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val2017.json')
test_evaluator = val_evaluator

train_cfg = dict(_delete_=True, type='IterBasedTrainLoop',
                 max_iters=max_iters, val_interval=max_iters)
# The RoI box head at a quarter of the rate: AdamW moves every weight by
# about the learning rate, and the head's first fc layer has 12544 inputs,
# several times the fan-in of any other layer, so its outputs move far more.
optim_wrapper = dict(
    optimizer=dict(lr=8e-4),
    paramwise_cfg=dict(
        custom_keys={'roi_head.bbox_head': dict(lr_mult=0.25)}))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0,
         end=30),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=30, end=max_iters,
         eta_min=1e-6)
]
auto_scale_lr = dict(base_batch_size=2)
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(by_epoch=False, interval=200, max_keep_ckpts=2))
log_processor = dict(by_epoch=False)
# A fixed seed, so the demo prints the same figures run after run.
randomness = dict(seed=0)
