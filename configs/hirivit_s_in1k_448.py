# HIRI-ViT-S on ImageNet-1k at 448 (paper: 84.3% top-1 at ~5.0 GFLOPs).
_base_ = [
    './_base_/hirivit_in1k_recipe.py',
    './_base_/datasets/imagenet_bs128_hirivit_448.py',
]
model = dict(backbone=dict(arch='s', drop_path_rate=0.1),
             head=dict(in_channels=448))
