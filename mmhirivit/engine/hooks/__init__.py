from .ema_distill_hook import EMADistillHook
from .resume_check_hook import ResumeCheckHook, ResumedStateError
from .rng_state_hook import RNGStateHook

__all__ = ['EMADistillHook', 'RNGStateHook', 'ResumeCheckHook',
           'ResumedStateError']
