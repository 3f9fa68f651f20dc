# UPerNet + HIRI-ViT-B on ADE20K, 160k iterations (paper).
_base_ = './upernet_hirivit_s_160k_ade20k.py'

model = dict(
    backbone={{_base_.hirivit_b_backbone}},
    decode_head=dict(in_channels={{_base_.hirivit_b_channels}}),
    auxiliary_head=dict(in_channels=320))
