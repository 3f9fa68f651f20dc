# ImageNet-1k at 448 for a backbone behind HIRI-ViT's front (paper §5.7,
# Table 9): the Swin/DeiT AdamW recipe mmpretrain ships (300 epochs, batch
# 1024, Mixup, CutMix, label smoothing) with HIRI-ViT's 448 data pipeline.
# Ours: Table 9 does not give the recipe. Leaves set the backbone and the
# head's in_channels.
_base_ = [
    'mmpretrain::_base_/models/swin_transformer/tiny_224.py',
    '../../_base_/datasets/imagenet_bs128_hirivit_448.py',
    'mmpretrain::_base_/schedules/imagenet_bs1024_adamw_swin.py',
    'mmpretrain::_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmhirivit'], allow_failed_imports=False)
