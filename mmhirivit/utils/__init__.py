from .complexity import complexity, flop_analyzer, sdpa_flop_jit

__all__ = ['complexity', 'flop_analyzer', 'sdpa_flop_jit']
