"""A classification data preprocessor that tells the model what it mixed."""
import numpy as np
import torch
from mmpretrain.models import ClsDataPreprocessor

from mmhirivit.models.utils.batch_mix import BatchMix
from mmhirivit.registry import MODELS


@MODELS.register_module()
class MixRecordingDataPreprocessor(ClsDataPreprocessor):
    """mmpretrain's :class:`ClsDataPreprocessor` that also returns the clean
    batch and what Mixup/CutMix did to it, for EMA distillation (paper §4.5).

    Arguments are those of :class:`ClsDataPreprocessor`; ``batch_augments``
    takes mmpretrain's own ``Mixup`` and ``CutMix`` configs (with ``probs``
    as :class:`RandomBatchAugment` reads them) and draws the mixing exactly as
    they do. In training the output gains a ``mix`` entry, a
    :class:`BatchMix`, and ``inputs`` is the mixed batch. Labels are always
    turned into one-hot scores (``to_onehot``), which the distillation target
    needs even when no batch augmentation is set. Validation and test are
    unchanged.
    """

    def __init__(self, *args, to_onehot=True, **kwargs):
        if not to_onehot:
            raise ValueError(f'{type(self).__name__} needs to_onehot=True '
                             f'(soft targets), got to_onehot={to_onehot!r}')
        super().__init__(*args, to_onehot=True, **kwargs)
        if self.batch_augments is not None:
            for augment in self.batch_augments.augments:
                if augment is not None:
                    BatchMix.check_supported(augment)

    def _draw_augment(self):
        """Pick one augmentation (or None) as RandomBatchAugment does."""
        if self.batch_augments is None:
            return None
        choices = self.batch_augments.augments
        return choices[np.random.choice(len(choices),
                                        p=self.batch_augments.probs)]

    def forward(self, data: dict, training: bool = False) -> dict:
        # The parent does everything but the mixing, which is done here so
        # that it can be recorded.
        data = super().forward(data, training=False)
        if not training:
            return data
        mix = BatchMix.sample(self._draw_augment(), data['inputs'])
        samples = data['data_samples']
        scores = mix.apply_scores(
            torch.stack([sample.gt_score for sample in samples]).float())
        for sample, score in zip(samples, scores):
            sample.set_gt_score(score)
        return dict(inputs=mix.inputs, data_samples=samples, mix=mix)
