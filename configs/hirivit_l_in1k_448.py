# HIRI-ViT-L on ImageNet-1k at 448 (paper: 85.7% top-1).
_base_ = [
    './_base_/hirivit_in1k_recipe.py',
    './_base_/datasets/imagenet_bs128_hirivit_448.py',
]
model = dict(backbone=dict(arch='l', drop_path_rate=0.3),
             head=dict(in_channels=512))
