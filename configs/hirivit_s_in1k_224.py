# HIRI-ViT-S on ImageNet-1k at 224: the four-stage form (ours: the HR-stem
# to stride 4, then stages 2-5, which see at 224 the grids they see at 448 in
# the five-stage network), mmpretrain's Swin 224 data pipeline, 128 images
# per GPU.
_base_ = [
    './_base_/hirivit_in1k_recipe.py',
    'mmpretrain::_base_/datasets/imagenet_bs64_swin_224.py',
]
model = dict(backbone=dict(arch='s', num_stages=4, drop_path_rate=0.1),
             head=dict(in_channels=448))
train_dataloader = dict(batch_size=128)
val_dataloader = dict(batch_size=128)
test_dataloader = val_dataloader
