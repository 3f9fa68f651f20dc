# segformer_hrvit_b1_160k_ade20k.py with HRViT-b3 (drop path 0.3) and a
# 768-channel head. Published: 50.20 mIoU, 28.7 M params, 67.9 GFLOPs (a
# target).
_base_ = './segformer_hrvit_b1_160k_ade20k.py'

model = dict(
    backbone=dict(arch='b3', drop_path_rate=0.3,
                  init_cfg=dict(checkpoint='checkpoints/'
                                'hrvit_b3_in1k_224_backbone.pth')),
    decode_head=dict(in_channels=[64, 128, 256, 512], channels=768))
