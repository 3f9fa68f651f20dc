from .ema_distill_hook import EMADistillHook
from .rng_state_hook import RNGStateHook

__all__ = ['EMADistillHook', 'RNGStateHook']
