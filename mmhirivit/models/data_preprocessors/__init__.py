from .mix_recording import MixRecordingDataPreprocessor

__all__ = ['MixRecordingDataPreprocessor']
