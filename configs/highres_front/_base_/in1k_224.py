# The plain backbone on ImageNet-1k at 224, with the recipe of in1k_448.py
# and mmpretrain's Swin 224 pipeline at 128 images per GPU, so that the two
# differ only in the front and the resolution.
_base_ = [
    'mmpretrain::_base_/models/swin_transformer/tiny_224.py',
    'mmpretrain::_base_/datasets/imagenet_bs64_swin_224.py',
    'mmpretrain::_base_/schedules/imagenet_bs1024_adamw_swin.py',
    'mmpretrain::_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmhirivit'], allow_failed_imports=False)
train_dataloader = dict(batch_size=128)
val_dataloader = dict(batch_size=128)
test_dataloader = val_dataloader
