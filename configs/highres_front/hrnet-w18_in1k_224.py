# HRNet-W18 (mmpretrain's backbone) on ImageNet-1k at 224: the plain network
# that hrnet-w18-hr_in1k_448.py puts behind HIRI-ViT's front. Its four
# branches are fused as mmpretrain's HRNet classifiers do (HRFuseScales to
# 2048 channels), then pooled.
_base_ = './_base_/in1k_224.py'
model = dict(
    backbone=dict(_delete_=True, type='mmpretrain.HRNet', arch='w18'),
    neck=[
        dict(type='HRFuseScales', in_channels=(18, 36, 72, 144)),
        dict(type='GlobalAveragePooling'),
    ],
    head=dict(in_channels=2048))
