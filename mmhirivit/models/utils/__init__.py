from .batch_mix import BatchMix

__all__ = ['BatchMix']
