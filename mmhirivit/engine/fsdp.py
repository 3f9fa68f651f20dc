"""Training the large models across GPUs with MMEngine's ``FlexibleRunner``
and ``FSDPStrategy``: a wrap policy that makes every block of the backbones
here one FSDP unit, so that a process holds the full parameters of one block
at a time, and the wrapper that runs FSDP on CPUs (gloo)."""
import torch
from mmengine.model import MMFullyShardedDataParallel

from mmhirivit.models.backbones.hirivit import (CFFNBlock, HRBlock, HRStem,
                                                IRDSa, IRDSb, TransformerBlock)
from mmhirivit.models.backbones.hrvit import FusionBlock, HRViTBlock
from mmhirivit.registry import FUNCTIONS, MODEL_WRAPPERS

#: The parts each of which becomes one FSDP unit.
BLOCKS = (HRStem, HRBlock, IRDSa, IRDSb, CFFNBlock, TransformerBlock,
          HRViTBlock, FusionBlock)


@FUNCTIONS.register_module()
def backbone_block_wrap_policy(module, recurse, nonwrapped_numel=0):
    """FSDP's ``auto_wrap_policy`` that wraps each of :data:`BLOCKS` (and
    the root, which FSDP always wraps, holds the rest: necks and heads).
    Configs name it ``auto_wrap_policy=dict(type=
    'mmhirivit.backbone_block_wrap_policy')``."""
    return True if recurse else isinstance(module, BLOCKS)


@MODEL_WRAPPERS.register_module()
class CPUFullyShardedDataParallel(MMFullyShardedDataParallel):
    """MMEngine's FSDP wrapper on the CPU device: MMEngine's FSDPStrategy
    hands FSDP the local rank as a GPU index, and torch's FSDP runs on CPUs
    only when given the CPU device itself (which a config cannot hold, as
    its text must parse). ``tools/train.py`` puts it in place of MMEngine's
    wrapper for distributed runs on CPUs."""

    def __init__(self, module, device_id=None, **kwargs):
        super().__init__(module, device_id=torch.device('cpu'), **kwargs)
