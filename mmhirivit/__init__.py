"""HIRI-ViT for the OpenMMLab ecosystem.

Importing the package (configs do it through ``custom_imports``) registers its
models and hooks in the ``mmhirivit`` scope. It changes no global behaviour:
checkpoints are loaded safely through :mod:`mmhirivit.utils.checkpoint`.
"""
from .engine import (AtomicCheckpointRunner, EMADistillHook, ResumeCheckHook,
                     RNGStateHook, build_runner)
from .models import (EMADistillClassifier, HighResFront, HIRIViT, HRViT,
                     InstanceSegTTAModel, MixRecordingDataPreprocessor)
from .version import __version__

__all__ = [
    'HIRIViT', 'HighResFront', 'HRViT', 'EMADistillClassifier',
    'MixRecordingDataPreprocessor', 'InstanceSegTTAModel', 'EMADistillHook',
    'ResumeCheckHook', 'RNGStateHook', 'AtomicCheckpointRunner',
    'build_runner', '__version__'
]
