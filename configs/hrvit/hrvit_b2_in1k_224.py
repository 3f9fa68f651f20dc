# hrvit_b1_in1k_224.py with HRViT-b2 (drop path 0.2). Published: 82.3% top-1,
# 32.5 M params, 5.1 GFLOPs (a target).
_base_ = './hrvit_b1_in1k_224.py'

model = dict(backbone=dict(arch='b2', drop_path_rate=0.2),
             neck=[dict(type='HRFuseScales', in_channels=(48, 96, 240, 384)),
                   dict(type='GlobalAveragePooling')])
