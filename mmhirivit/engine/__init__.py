from .hooks import *  # noqa: F401,F403
from .runner import AtomicCheckpointRunner, build_runner

__all__ = ['AtomicCheckpointRunner', 'build_runner']
