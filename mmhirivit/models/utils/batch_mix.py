"""What a Mixup or CutMix batch augmentation mixed, kept so that other tensors
(the EMA teacher's probability maps, paper §4.5) can be mixed the same way."""
from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from mmpretrain.models.utils.batch_augments import CutMix, Mixup

#: The mmpretrain batch augmentations a :class:`BatchMix` can record.
SUPPORTED_AUGMENTS = (Mixup, CutMix)


@dataclass
class BatchMix:
    """One mixing of a batch: sample ``i`` becomes
    ``M ⊙ x[i] + (1 − M) ⊙ x[index[i]]``.

    For Mixup ``M`` is the scalar ``lam``; for CutMix it is 1 outside
    ``box`` and 0 inside it, where the partner's pixels are pasted, and
    ``lam`` is the fraction of 1s. Labels mix as ``lam · y + (1 − lam) ·
    y[index]``, exactly as mmpretrain's :class:`Mixup` / :class:`CutMix`.

    Args:
        clean (Tensor): The batch before mixing, ``(N, C, H, W)``.
        index (Tensor): The partner of every sample, ``(N, )``.
        lam (float): The weight of each sample's own content and label.
        box (tuple[int], optional): CutMix's pasted patch as ``(y1, y2, x1,
            x2)`` in input pixels, or None for Mixup.
    """
    clean: torch.Tensor
    index: torch.Tensor
    lam: float
    box: Optional[Tuple[int, int, int, int]] = None

    @classmethod
    def sample(cls, augment, clean: torch.Tensor) -> 'BatchMix':
        """Draw a mixing of ``clean`` the way ``augment`` draws its own.

        Args:
            augment (Mixup | CutMix | None): The mmpretrain augmentation
                whose settings (``alpha``, CutMix's box rules) to use; None
                gives the identity mixing.
            clean (Tensor): The batch, ``(N, C, H, W)``.
        """
        n = clean.size(0)
        if augment is None:
            return cls(clean, torch.arange(n, device=clean.device), 1.)
        cls.check_supported(augment)
        lam = float(np.random.beta(augment.alpha, augment.alpha))
        # Drawn on the CPU, as mmpretrain's Mixup and CutMix draw it.
        index = torch.randperm(n).to(clean.device)
        if isinstance(augment, CutMix):
            box, lam = augment.cutmix_bbox_and_lam(clean.shape[-2:], lam)
            return cls(clean, index, float(lam), tuple(int(v) for v in box))
        return cls(clean, index, lam)

    @staticmethod
    def check_supported(augment):
        """Raise ``TypeError`` unless ``augment`` is a plain mmpretrain
        Mixup or CutMix (subclasses such as ResizeMix mix differently)."""
        if type(augment) not in SUPPORTED_AUGMENTS:
            raise TypeError(
                f'cannot record the mixing of {type(augment).__name__}; '
                f'supported batch augments are '
                f'{[a.__name__ for a in SUPPORTED_AUGMENTS]}')

    def mask(self, size: Tuple[int, int]) -> torch.Tensor:
        """``M`` at ``size``, as a ``(1, 1, h, w)`` tensor (or the scalar
        ``lam`` for Mixup).

        A map cell holds the fraction of its input pixels that keep the
        sample's own content (area resampling), so the mask of a map of
        any stride agrees with the pixels it covers.
        """
        if self.box is None:
            return torch.tensor(self.lam, device=self.clean.device)
        y1, y2, x1, x2 = self.box
        full = torch.ones(1, 1, *self.clean.shape[-2:],
                          device=self.clean.device)
        full[..., y1:y2, x1:x2] = 0
        if tuple(size) == tuple(full.shape[-2:]):
            return full
        return F.adaptive_avg_pool2d(full, size)

    def apply(self, maps: torch.Tensor) -> torch.Tensor:
        """Mix ``(N, ..., h, w)`` maps of the batch the same way."""
        mask = self.mask(maps.shape[-2:])
        return mask * maps + (1 - mask) * maps[self.index]

    def apply_scores(self, scores: torch.Tensor) -> torch.Tensor:
        """Mix ``(N, num_classes)`` label scores: the CutMix/Mixup target."""
        return self.lam * scores + (1 - self.lam) * scores[self.index]

    @property
    def inputs(self) -> torch.Tensor:
        """The mixed batch the student trains on."""
        return self.apply(self.clean)
