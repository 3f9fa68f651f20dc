from .fsdp import CPUFullyShardedDataParallel, backbone_block_wrap_policy
from .hooks import (EMADistillHook, ResumeCheckHook, ResumedStateError,
                    RNGStateHook)
from .optimizers import BackboneLayerDecayOptimWrapperConstructor
from .runner import (AtomicCheckpointRunner, CheckpointSaveError, build_runner,
                     read_last_checkpoint)

__all__ = [
    'EMADistillHook', 'ResumeCheckHook', 'ResumedStateError', 'RNGStateHook',
    'BackboneLayerDecayOptimWrapperConstructor', 'AtomicCheckpointRunner',
    'CheckpointSaveError', 'build_runner', 'read_last_checkpoint',
    'backbone_block_wrap_policy', 'CPUFullyShardedDataParallel'
]
