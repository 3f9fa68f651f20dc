# The COCO optimiser, defined here once for every detector that uses it. The
# paper (§5.2) gives AdamW, batch 16 and the 1x schedule (12 epochs; mmdet's
# steps at 8 and 11). Ours, not in its text: lr 1e-4 and weight decay 0.05
# (none on norms and biases), as Swin's and the authors' siblings' COCO
# recipes use; batch 16 as 8 GPUs x 2 images.
_base_ = 'mmdet::_base_/schedules/schedule_1x.py'

optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='AdamW', lr=1e-4, betas=(0.9, 0.999),
                   weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0., bias_decay_mult=0.))
# Layer-wise learning-rate decay, not in the paper's recipe (docs/training.md):
# optim_wrapper = dict(
#     constructor='mmhirivit.BackboneLayerDecayOptimWrapperConstructor',
#     paramwise_cfg=dict(layer_decay_rate=0.9))
