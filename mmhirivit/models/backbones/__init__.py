from .high_res_front import HighResFront
from .hirivit import HIRIViT
from .hrvit import HRViT

__all__ = ['HIRIViT', 'HighResFront', 'HRViT']
