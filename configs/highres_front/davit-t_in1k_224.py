# DaViT-T (mmpretrain's backbone) on ImageNet-1k at 224: the plain network
# that davit-t-hr_in1k_448.py puts behind HIRI-ViT's front.
_base_ = './_base_/in1k_224.py'
model = dict(
    backbone=dict(_delete_=True, type='mmpretrain.DaViT', arch='t',
                  pad_small_map=True, out_indices=(3, ), drop_path_rate=0.1),
    head=dict(in_channels=768))
