# UPerNet + HIRI-ViT-B on ADE20K, 160k iterations (paper, §5.3): the S
# config with the B backbone and its stage-5 width.
_base_ = './upernet_hirivit_s_160k_ade20k.py'

model = dict(
    backbone=dict(
        arch='b',
        drop_path_rate=0.3,
        init_cfg=dict(
            checkpoint='checkpoints/hirivit_b_in1k_448_backbone.pth')),
    decode_head=dict(in_channels=[64, 128, 320, 512]))
