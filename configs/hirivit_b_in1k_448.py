# HIRI-ViT-B on ImageNet-1k at 448.
_base_ = [
    './_base_/hirivit_in1k_recipe.py',
    './_base_/datasets/imagenet_bs128_hirivit_448.py',
]
model = dict(backbone=dict(arch='b', drop_path_rate=0.2),
             head=dict(in_channels=512))
