from .hooks import *  # noqa: F401,F403
from .runner import AtomicCheckpointRunner

__all__ = ['AtomicCheckpointRunner']
