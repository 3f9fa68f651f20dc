"""EMA distillation (paper §4.5): the student learns from its own EMA."""
from typing import List, Optional

import torch
from mmpretrain.models import GlobalAveragePooling, ImageClassifier
from mmpretrain.structures import DataSample
from torch import nn

from mmhirivit.models.utils.batch_mix import BatchMix
from mmhirivit.registry import MODELS


@MODELS.register_module()
class EMADistillClassifier(ImageClassifier):
    """An :class:`ImageClassifier` trained with EMA distillation.

    Paper §4.5: for a Mixup/CutMix sample ``x~ = M ⊙ x_a + (1 − M) ⊙ x_b``
    with label ``y~``, the teacher (the EMA of this very model) sees the clean
    ``x_a`` and ``x_b`` without the final average pool, giving per-location
    class probability maps ``P_a`` and ``P_b``. They are mixed with the same
    mask, ``P~ = M ⊙ P_a + (1 − M) ⊙ P_b``, and average-pooled to ``ŷ``; the
    student trains on ``α · y~ + (1 − α) · ŷ``.

    Ours, where the paper is silent: the per-location probabilities are the
    head's linear layer applied to every location of the last backbone map,
    then a softmax (what the head does after global average pooling, with
    the pooling moved after the softmax); the mask is resized to the map by
    area averaging (:meth:`BatchMix.mask`); the teacher runs in eval mode.

    The teacher is handed over by :class:`mmhirivit.EMADistillHook` (which
    builds it as MMEngine's EMA) and is kept outside this module's
    parameters, state dict and optimizer; no gradient reaches it.

    Args:
        alpha (float): The weight ``α`` of the Mixup/CutMix label, in
            ``[0, 1]``. 1 is plain training: the teacher is not used.
            Defaults to 0.5 (ours; the paper does not state it).
        *args, **kwargs: As :class:`ImageClassifier`. The neck must be
            ``GlobalAveragePooling`` and the head must have an
            ``fc`` linear layer (e.g. ``LinearClsHead``), so that the head
            can be applied at every location. ``data_preprocessor`` defaults
            to :class:`mmhirivit.MixRecordingDataPreprocessor`.
    """

    def __init__(self, *args, alpha: float = 0.5, data_preprocessor=None,
                 **kwargs):
        if not isinstance(alpha, (int, float)) or not 0 <= alpha <= 1:
            raise ValueError(f'alpha must be a number in [0, 1], got '
                             f'{alpha!r}')
        data_preprocessor = data_preprocessor or {}
        if isinstance(data_preprocessor, dict):
            data_preprocessor.setdefault(
                'type', 'mmhirivit.MixRecordingDataPreprocessor')
        super().__init__(*args, data_preprocessor=data_preprocessor, **kwargs)
        self.alpha = float(alpha)
        if self.alpha < 1:
            self._check_distillable()
        self._teacher = None
        # Whether loss() mixes in the teacher; EMADistillHook switches it on
        # when the EMA starts (its begin_iter / begin_epoch).
        self.distilling = True

    def _check_distillable(self):
        if not isinstance(self.neck, GlobalAveragePooling):
            raise TypeError(
                f'EMA distillation needs a GlobalAveragePooling neck, to '
                f'apply the head at every location instead; got '
                f'{type(self.neck).__name__}')
        if not isinstance(getattr(self.head, 'fc', None), nn.Linear):
            raise TypeError(
                f'EMA distillation needs a head with a linear ``fc`` layer '
                f'(e.g. LinearClsHead); got {type(self.head).__name__}')

    @property
    def teacher(self) -> Optional['EMADistillClassifier']:
        """The EMA model this classifier distils from, or None."""
        return self._teacher

    def set_teacher(self, teacher: 'EMADistillClassifier') -> None:
        """Distil from ``teacher`` (an EMA copy of this model), in eval mode.

        Stored outside ``nn.Module``'s bookkeeping, so that the teacher's
        weights are neither this model's parameters nor in its checkpoints.
        """
        teacher.eval()
        object.__setattr__(self, '_teacher', teacher)

    def location_probs(self, inputs: torch.Tensor) -> torch.Tensor:
        """Class probabilities at every location of the last backbone map,
        ``(N, num_classes, h, w)``: the classifier without its average
        pool."""
        feat = self.extract_feat(inputs, stage='backbone')[-1]
        logits = self.head.fc(feat.permute(0, 2, 3, 1))
        return logits.softmax(-1).permute(0, 3, 1, 2)

    @torch.no_grad()
    def distill_targets(self, mix: BatchMix) -> torch.Tensor:
        """``ŷ = AvgPool(M ⊙ P_a + (1 − M) ⊙ P_b)`` from the teacher."""
        if self.teacher is None:
            raise RuntimeError(
                f'EMADistillClassifier(alpha={self.alpha}) has no teacher: '
                f'add dict(type="mmhirivit.EMADistillHook", ...) to '
                f'custom_hooks, or set alpha=1.0 for plain training')
        probs = self.teacher.location_probs(mix.clean)
        return mix.apply(probs).mean(dim=(2, 3))

    def forward(self,
                inputs: torch.Tensor,
                data_samples: Optional[List[DataSample]] = None,
                mode: str = 'tensor',
                mix: Optional[BatchMix] = None):
        """As :meth:`ImageClassifier.forward`; ``mix`` (from the data
        preprocessor) is used in ``mode='loss'``."""
        if mode == 'loss':
            return self.loss(inputs, data_samples, mix)
        return super().forward(inputs, data_samples, mode)

    def loss(self, inputs: torch.Tensor, data_samples: List[DataSample],
             mix: Optional[BatchMix] = None) -> dict:
        """The head's loss against ``α · y~ + (1 − α) · ŷ`` (against ``y~``
        alone while :attr:`distilling` is False).

        Args:
            inputs (Tensor): The (mixed) batch.
            data_samples (list[DataSample]): Samples whose ``gt_score`` is
                the Mixup/CutMix label ``y~``.
            mix (BatchMix, optional): What was mixed; None means ``inputs``
                are unmixed.
        """
        if self.alpha < 1 and self.distilling:
            if mix is None:
                mix = BatchMix.sample(None, inputs)
            targets = self.distill_targets(mix)
            for sample, target in zip(data_samples, targets):
                sample.set_gt_score(self.alpha * sample.gt_score +
                                    (1 - self.alpha) * target)
        return super().loss(inputs, data_samples)
