from .hooks import *  # noqa: F401,F403
from .optimizers import *  # noqa: F401,F403
from .runner import AtomicCheckpointRunner, CheckpointSaveError, build_runner

__all__ = ['AtomicCheckpointRunner', 'CheckpointSaveError', 'build_runner']
