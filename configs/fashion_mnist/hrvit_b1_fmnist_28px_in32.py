# HRViT-b1 (HIRI-ViT's high-resolution peer, docs/hrvit.md) from scratch on
# Fashion-MNIST, the full 28x28 photographs scaled to 32 (its smallest input,
# one stride-32 token): the ResNet-18 reference's input and pipeline
# (docs/real_images.md). Its four branches run at strides 4-32 (8x8, 4x4,
# 2x2 and 1x1 here) and the head pools the stride-32 branch, which the
# fusions feed from the other three: HRViT's ImageNet head (HRFuseScales to
# 2048 channels) would cost 0.055 GFLOPs here, 1.6x arm (a)'s, against this
# one's 0.030. The same recipe and augmentation as the HIRI-ViT arms.
_base_ = ['./resnet18_w16_fmnist_28px_in32.py']

model = dict(
    backbone=dict(_delete_=True, type='mmhirivit.HRViT', arch='b1',
                  in_channels=1, out_indices=(3, )),
    head=dict(in_channels=256))
