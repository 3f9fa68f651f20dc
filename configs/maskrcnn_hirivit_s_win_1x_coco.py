# Mask R-CNN + HIRI-ViT-S, 1x, 1600 x 2666, with windowed attention in stage
# 4 (ours, beyond the paper, as ViTDet does for plain ViTs). At 1600 x 2666
# stage 4 attends over about 4200 tokens; here it attends within windows of
# the 14 x 14 tokens ImageNet training at 448 gives it, and its last block
# stays global so that the windows exchange information before the FPN.
# Stage 5 (about 1050 tokens) stays global. Windowing adds no parameters:
# the same ImageNet weights load. Cost against the global model and Swin-T:
# README, "COCO and ADE20K".
_base_ = './maskrcnn_hirivit_s_1x_coco.py'

model = dict(
    backbone=dict(window_size=(14, None), global_blocks=((-1, ), ())))
