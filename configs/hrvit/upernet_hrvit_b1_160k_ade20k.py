# UPerNet + HRViT-b1 on ADE20K at 512 x 512, 160k iterations: mmseg's Swin
# UPerNet setting with HRViT's recipe (AdamW 6e-5, weight decay 0.01 and
# none on norms, heads at 10x the rate, 1500 warm-up iterations then poly
# decay, batch 16 as 8 GPUs x 2 images, drop path 0.1). Published: 47.19
# mIoU, 35.9 M params, 219 GFLOPs (a target; docs/hrvit.md).
_base_ = ('mmseg::swin/swin-tiny-patch4-window7-in1k-pre_upernet_8xb2-160k_'
          'ade20k-512x512.py')
custom_imports = dict(imports=['mmhirivit'], allow_failed_imports=False)

model = dict(
    pretrained=None,
    backbone=dict(
        _delete_=True,
        type='mmhirivit.HRViT',
        arch='b1',
        drop_path_rate=0.1,
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        init_cfg=dict(type='Pretrained',
                      checkpoint='checkpoints/hrvit_b1_in1k_224_backbone.pth',
                      prefix='backbone.')),
    decode_head=dict(in_channels=[32, 64, 128, 256]),
    auxiliary_head=dict(in_channels=128))

optim_wrapper = dict(paramwise_cfg=dict(
    _delete_=True, norm_decay_mult=0., custom_keys={'head': dict(lr_mult=10.)}))
