# Mask R-CNN + HIRI-ViT-L, 1x, single scale 1600 x 2666, sharded across GPUs
# with FSDP (MMEngine's FlexibleRunner and FSDPStrategy): parameters,
# gradients and AdamW state split over the processes, each backbone block
# one FSDP unit (mmhirivit.backbone_block_wrap_policy). The S config with
# the L backbone; docs/training.md ("The large model across GPUs").
#   bash tools/dist_train.sh configs/maskrcnn_hirivit_l_fsdp_1x_coco.py 8
_base_ = './maskrcnn_hirivit_s_1x_coco.py'

model = dict(
    backbone=dict(
        arch='l',
        drop_path_rate=0.3,  # as B's
        init_cfg=dict(
            checkpoint='checkpoints/hirivit_l_in1k_448_backbone.pth')),
    neck=dict(in_channels=[96, 192, 384, 512]))

runner_type = 'FlexibleRunner'
strategy = dict(
    type='FSDPStrategy',
    model_wrapper=dict(
        auto_wrap_policy=dict(type='mmhirivit.backbone_block_wrap_policy')),
    # Rank 0 saves the whole model in one file, which tools/test.py and
    # --resume read as any other checkpoint.
    state_dict_cfg='full')
