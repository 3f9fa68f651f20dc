from .instance_tta import InstanceSegTTAModel

__all__ = ['InstanceSegTTAModel']
