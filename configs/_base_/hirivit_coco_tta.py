# Test-time augmentation for the COCO configs (tools/test.py --tta): mmdet's
# RetinaNet TTA set (three scales x flip, boxes merged by NMS) with its scales
# doubled like every other image size here (800 x 1333 -> 1600 x 2666). The
# model keeps each box's mask, so Mask R-CNN and Cascade Mask R-CNN give segm
# results too; box-only detectors merge exactly as mmdet's DetTTAModel.
tta_model = dict(
    type='mmhirivit.InstanceSegTTAModel',
    tta_cfg=dict(nms=dict(type='nms', iou_threshold=0.5), max_per_img=100))
tta_img_scales = [(2666, 1600), (1333, 800), (4000, 2400)]
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
