from .ema_distill import EMADistillClassifier

__all__ = ['EMADistillClassifier']
