from .backbones import HighResFront, HIRIViT, HRViT
from .classifiers import EMADistillClassifier
from .data_preprocessors import MixRecordingDataPreprocessor
from .test_time_augs import InstanceSegTTAModel

__all__ = [
    'HIRIViT', 'HighResFront', 'HRViT', 'EMADistillClassifier',
    'MixRecordingDataPreprocessor', 'InstanceSegTTAModel'
]
