# hrvit_b1_in1k_224.py with HRViT-b3 (drop path 0.3). Published: 82.8% top-1,
# 37.9 M params, 5.7 GFLOPs (a target).
_base_ = './hrvit_b1_in1k_224.py'

model = dict(backbone=dict(arch='b3', drop_path_rate=0.3),
             neck=[dict(type='HRFuseScales', in_channels=(64, 128, 256, 512)),
                   dict(type='GlobalAveragePooling')])
