# segformer_hrvit_b1_160k_ade20k.py with HRViT-b2 (drop path 0.2).
# Published: 48.76 mIoU, 20.8 M params, 28.0 GFLOPs (a target).
_base_ = './segformer_hrvit_b1_160k_ade20k.py'

model = dict(
    backbone=dict(arch='b2', drop_path_rate=0.2,
                  init_cfg=dict(checkpoint='checkpoints/'
                                'hrvit_b2_in1k_224_backbone.pth')),
    decode_head=dict(in_channels=[48, 96, 240, 384]))
