# Arm (a) of docs/real_images.md: the four-stage T (num_stages=4: the
# HR-stem, then stages 2-5 at strides 4-32) on each photograph shrunk to
# 14x14 and scaled up to 56. Its stages 2-5 see the token grids of arms (b)
# and (c) at 112: 14x14, 7x7, 4x4, 2x2.
_base_ = ['./hirivit_t_fmnist_28px_in112.py']

model = dict(backbone=dict(num_stages=4))

train_pipeline = [
    dict(type='RandomCrop', crop_size=28, padding=2),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='Resize', scale=14, interpolation='area'),
    dict(type='Resize', scale=56, interpolation='bilinear'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='Resize', scale=14, interpolation='area'),
    dict(type='Resize', scale=56, interpolation='bilinear'),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
