from .ema_distill_hook import EMADistillHook

__all__ = ['EMADistillHook']
