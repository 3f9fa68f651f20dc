# The paper's 3x schedule: 36 epochs, steps at 27 and 33, with the optimiser
# of hirivit_adamw_1x.py.
_base_ = './hirivit_adamw_1x.py'

train_cfg = dict(max_epochs=36)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0,
         end=500),
    dict(type='MultiStepLR', begin=0, end=36, by_epoch=True,
         milestones=[27, 33], gamma=0.1)
]
