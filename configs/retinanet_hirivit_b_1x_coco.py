# RetinaNet + HIRI-ViT-B, 1x, single scale 1600 x 2666 (paper).
_base_ = './retinanet_hirivit_s_1x_coco.py'

model = dict(
    backbone={{_base_.hirivit_b_backbone}},
    neck=dict(in_channels={{_base_.hirivit_b_channels}}))
