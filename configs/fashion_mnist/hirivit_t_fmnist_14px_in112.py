# Arm (b) of docs/real_images.md: the five-stage T of arm (c) on the same
# information as arm (a), each photograph shrunk to 14x14 and scaled up to
# 112: what the extra stage costs, without the extra resolution.
_base_ = ['./hirivit_t_fmnist_28px_in112.py']

train_pipeline = [
    dict(type='RandomCrop', crop_size=28, padding=2),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='Resize', scale=14, interpolation='area'),
    dict(type='Resize', scale=112, interpolation='bilinear'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='Resize', scale=14, interpolation='area'),
    dict(type='Resize', scale=112, interpolation='bilinear'),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
