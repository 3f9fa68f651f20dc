from .hirivit import HIRIViT

__all__ = ['HIRIViT']
