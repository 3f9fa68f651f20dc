# upernet_hrvit_b1_160k_ade20k.py with HRViT-b3 (drop path 0.3). Published:
# 50.04 mIoU, 55.4 M params, 236 GFLOPs (a target).
_base_ = './upernet_hrvit_b1_160k_ade20k.py'

model = dict(
    backbone=dict(arch='b3', drop_path_rate=0.3,
                  init_cfg=dict(checkpoint='checkpoints/'
                                'hrvit_b3_in1k_224_backbone.pth')),
    decode_head=dict(in_channels=[64, 128, 256, 512]),
    auxiliary_head=dict(in_channels=256))
