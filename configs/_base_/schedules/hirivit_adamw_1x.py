# The paper's COCO optimiser, defined here once for every detector that uses
# it: AdamW, lr 1e-4, weight decay 0.05 (none on norms and biases), batch 16
# as 8 GPUs x 2 images; mmdet's 1x schedule (12 epochs, steps at 8 and 11).
_base_ = 'mmdet::_base_/schedules/schedule_1x.py'

optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='AdamW', lr=1e-4, betas=(0.9, 0.999),
                   weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0., bias_decay_mult=0.))
