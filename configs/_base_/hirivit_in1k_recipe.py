# The paper's ImageNet-1k recipe (§5.1 and §4.5) on mmpretrain's own bases:
# AdamW, lr 1e-3 for batch 1024 (8 GPUs x 128, auto_scale_lr), weight decay
# 0.05 (none on norms and biases), 300 epochs, cosine after 5 linear warm-up
# epochs, Mixup + CutMix (from the model base) and EMA distillation, as the
# paper lists them; label smoothing 0.1 is ours (mmpretrain's Swin recipe,
# not in the paper's text). RandomResizedCrop, flip, RandAugment and
# RandomErasing come with the dataset bases.
_base_ = [
    'mmpretrain::_base_/models/swin_transformer/small_224.py',
    'mmpretrain::_base_/schedules/imagenet_bs1024_adamw_swin.py',
    'mmpretrain::_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmhirivit'], allow_failed_imports=False)

# EMA distillation: the target is alpha * (Mixup/CutMix label) +
# (1 - alpha) * (EMA teacher's mixed probabilities). alpha=1.0 switches the
# teacher off (plain training with EMA). alpha=0.5 is ours: the paper does
# not state it.
model = dict(
    type='mmhirivit.EMADistillClassifier',
    alpha=0.5,
    # Leaves set the arch, its drop path rate and the head's in_channels.
    backbone=dict(_delete_=True, type='mmhirivit.HIRIViT', out_indices=4))
# The teacher is MMEngine's EMA of the model. MMEngine's momentum is
# 1 - decay: 1e-4 is decay 0.9999 (ours; the paper does not state it).
# Distillation starts with the EMA, in the sixth epoch, after the five
# warm-up epochs (ours; the paper does not say when): before it the target
# is the plain label, and from then on the teacher averages a model that has
# learned something. Started at once, the teacher stays near its random
# initialisation for thousands of iterations and half of every target is
# almost uniform: in the toy runs of docs/pretraining.md its top-1 was still
# 0.0 after 300 iterations.
custom_hooks = [
    dict(type='mmhirivit.EMADistillHook', momentum=1e-4, begin_epoch=6,
         priority='ABOVE_NORMAL')
]

param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, end=5,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=True, begin=5)
]
default_hooks = dict(checkpoint=dict(max_keep_ckpts=3))
