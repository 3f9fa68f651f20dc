# The outside reference of docs/real_images.md: mmpretrain's ResNet-18 for
# small images (ResNet_CIFAR: a 3x3 stem, no max-pooling) at a quarter of its
# width (16-32-64-128 channels), on the full 28x28 photographs scaled to 32:
# the width and input that put it within 25% of arm (a)'s GFLOPs. The same
# recipe and augmentation as the HIRI-ViT arms.
_base_ = ['./hirivit_t_fmnist_28px_in112.py']

model = dict(
    backbone=dict(_delete_=True, type='ResNet_CIFAR', depth=18,
                  in_channels=1, stem_channels=16, base_channels=16),
    head=dict(in_channels=128))

train_pipeline = [
    dict(type='RandomCrop', crop_size=28, padding=2),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='Resize', scale=32, interpolation='bilinear'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='Resize', scale=32, interpolation='bilinear'),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
