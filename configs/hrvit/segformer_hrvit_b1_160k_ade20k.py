# SegFormer's all-MLP head + HRViT-b1 on ADE20K at 512 x 512, 160k
# iterations: HRViT's recipe (AdamW 6e-5, weight decay 0.01 and none on
# norms, the head at 10x the rate, 1500 warm-up iterations then poly decay,
# batch 16 as 8 GPUs x 2 images, drop path 0.1), which is mmseg's SegFormer
# recipe. Published: 45.88 mIoU, 8.2 M params, 14.6 GFLOPs (a target here,
# not a result; docs/hrvit.md).
_base_ = 'mmseg::segformer/segformer_mit-b0_8xb2-160k_ade20k-512x512.py'
custom_imports = dict(imports=['mmhirivit'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        _delete_=True,
        type='mmhirivit.HRViT',
        arch='b1',
        drop_path_rate=0.1,
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        init_cfg=dict(type='Pretrained',
                      checkpoint='checkpoints/hrvit_b1_in1k_224_backbone.pth',
                      prefix='backbone.')),
    # HRViT's SegFormer head: plain 1x1 convs in its MLP (no norm, no
    # activation), 256 channels.
    decode_head=dict(in_channels=[32, 64, 128, 256], channels=256,
                     norm_cfg=None, act_cfg=None))

optim_wrapper = dict(paramwise_cfg=dict(
    _delete_=True, norm_decay_mult=0., custom_keys={'head': dict(lr_mult=10.)}))
