# HIRI-ViT as the backbone of a dense-prediction model. At twice the usual
# image size its stages 2-5 (strides 8-64) give the map sizes a four-stage
# backbone's C2-C5 give at the usual size (docs/architecture.md).
custom_imports = dict(imports=['mmhirivit'], allow_failed_imports=False)
hirivit_backbone = dict(
    _delete_=True,
    type='mmhirivit.HIRIViT',
    arch='s',
    out_indices=(1, 2, 3, 4),
    drop_path_rate=0.2,
    # Batch norm in every block (stages 1-3 and every CFFN) and 2 images per
    # GPU: statistics are synchronised across GPUs (16 images), as mmseg does
    # for every model and mmdet in its SyncBN recipes. Frozen statistics
    # (mmdet's ResNet choice) would keep ImageNet's at 448 while the input
    # scale doubles to 1600. Single-process runs use plain BN (MMEngine
    # reverts SyncBN); CPU distributed runs too (tools/train.py).
    norm_cfg=dict(type='SyncBN', requires_grad=True),
    init_cfg=dict(
        type='Pretrained',
        checkpoint='checkpoints/hirivit_s_in1k_448_backbone.pth',
        prefix='backbone.'))
hirivit_channels = [64, 128, 320, 448]
# What changes from S to B (merged into hirivit_backbone by the B configs).
hirivit_b_backbone = dict(
    arch='b',
    drop_path_rate=0.3,
    init_cfg=dict(checkpoint='checkpoints/hirivit_b_in1k_448_backbone.pth'))
hirivit_b_channels = [64, 128, 320, 512]
# Every image-pixel setting doubles with the image: prior strides of FPN
# levels P2-P6 (two-stage detectors) and P3-P7 (one-stage detectors, FPN
# start_level=1), RoI-extractor strides and finest_scale (56 -> 112).
hirivit_p2p6_strides = [8, 16, 32, 64, 128]
hirivit_p3p7_strides = [16, 32, 64, 128, 256]
hirivit_roi_strides = [8, 16, 32, 64]
hirivit_finest_scale = 112
hirivit_roi_extractor = dict(
    featmap_strides=hirivit_roi_strides, finest_scale=hirivit_finest_scale)
# The RoI heads of Mask R-CNN and Cascade Mask R-CNN.
hirivit_mask_roi_head = dict(
    bbox_roi_extractor=hirivit_roi_extractor,
    mask_roi_extractor=hirivit_roi_extractor)
# The whole model override of each detector family: pad to the largest
# stride, HIRI-ViT, neck widths and doubled strides.
hirivit_dense_model = dict(
    data_preprocessor=dict(pad_size_divisor=64),
    backbone=hirivit_backbone,
    neck=dict(in_channels=hirivit_channels))
hirivit_one_stage_model = dict(
    hirivit_dense_model,
    bbox_head=dict(anchor_generator=dict(strides=hirivit_p3p7_strides)))
hirivit_two_stage_model = dict(
    hirivit_dense_model,
    rpn_head=dict(anchor_generator=dict(strides=hirivit_p2p6_strides)),
    roi_head=hirivit_mask_roi_head)
hirivit_sparse_rcnn_model = dict(
    hirivit_dense_model,
    roi_head=dict(bbox_roi_extractor=hirivit_roi_extractor))
