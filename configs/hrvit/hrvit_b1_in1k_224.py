# HRViT-b1 on ImageNet-1k at 224: the HRNetV2 classification head (each
# branch widened by a bottleneck and fused into 2048 channels: mmpretrain's
# HRFuseScales, as its HRNet configs use), pooling and a linear head;
# mmpretrain's Swin recipe (AdamW 1e-3 for batch 1024, weight decay 0.05,
# cosine with 20 warm-up epochs, 300 epochs, RandAugment, Mixup, CutMix,
# random erasing, label smoothing). Published: 80.5% top-1, 19.7 M params,
# 2.7 GFLOPs (a target; docs/hrvit.md).
_base_ = [
    'mmpretrain::_base_/datasets/imagenet_bs64_swin_224.py',
    'mmpretrain::_base_/schedules/imagenet_bs1024_adamw_swin.py',
    'mmpretrain::_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmhirivit'], allow_failed_imports=False)

model = dict(
    type='ImageClassifier',
    backbone=dict(type='mmhirivit.HRViT', arch='b1', drop_path_rate=0.1),
    neck=[
        dict(type='HRFuseScales', in_channels=(32, 64, 128, 256)),
        dict(type='GlobalAveragePooling'),
    ],
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=2048,
        loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1,
                  mode='original'),
        topk=(1, 5)),
    train_cfg=dict(augments=[
        dict(type='Mixup', alpha=0.8),
        dict(type='CutMix', alpha=1.0)
    ]))
# 8 GPUs x 128 images = mmpretrain's Swin batch of 1024.
train_dataloader = dict(batch_size=128)
