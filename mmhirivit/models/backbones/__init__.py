from .high_res_front import HighResFront
from .hirivit import HIRIViT

__all__ = ['HIRIViT', 'HighResFront']
