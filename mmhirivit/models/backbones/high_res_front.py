"""HIRI-ViT's five-stage, two-branch front in front of other backbones
(paper §5.7, Table 9)."""
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule, Sequential

from mmhirivit.registry import MODELS
from mmhirivit.utils.checkpoint import mmengine_loading

from .common import (batch_norms_eval, check_drop_path_rate, check_flag,
                     check_frozen_stages, freeze, is_int, needs_grad,
                     parse_flags, parse_out_indices, recompute)
from .hirivit import HRBlock, HRStem, IRDSa

LEVELS = 5


class _ToTokens(nn.Module):
    """Stands for a patch embedding that returns ``(tokens, (H, W))``: the
    front's map, already embedded, as ``(N, H*W, C)`` tokens."""

    def forward(self, x):
        return x.flatten(2).transpose(1, 2), tuple(x.shape[-2:])


def _patch_embed_width(embed):
    return embed.projection.out_channels


def _fit_pvt(body):
    """mmdet's PVTv2: the first stage's overlapping patch embedding (a 7x7
    stride-4 conv) gives way to the front; each stage keeps the patch
    embedding that leads into it."""
    width = _patch_embed_width(body.layers[0][0])
    body.layers[0][0] = _ToTokens()
    return width, [[layer] for layer in body.layers]


def _fit_davit(body):
    """mmpretrain's DaViT: its patch embedding (a 7x7 stride-4 conv) gives
    way to the front; the down-sampling layer at the end of each stage leads
    into the next."""
    width = _patch_embed_width(body.patch_embed)
    body.patch_embed = _ToTokens()
    stages = []
    for i, stage in enumerate(body.stages):
        parts = [stage.blocks, getattr(body, f'norm{i}', None)]
        if i:
            parts.append(body.stages[i - 1].downsample)
        stages.append([p for p in parts if p is not None])
    return width, stages


def _fit_hrnet(body):
    """HRNet (mmdet's, mmseg's or mmpretrain's): its stem (two 3x3 stride-2
    convs with BN) gives way to the front; the stem's ReLU stays, so that
    layer 1 reads non-negative maps as it does after its own stem (out of
    place: the stem's forward now applies it twice to one map, which changes
    nothing). Each stage keeps the transition that leads into it."""
    width = body.conv2.out_channels
    body.conv1, body.conv2 = nn.Identity(), nn.Identity()
    setattr(body, body.norm1_name, nn.Identity())
    setattr(body, body.norm2_name, nn.Identity())
    body.relu = nn.ReLU()
    return width, [[body.layer1]] + [[
        getattr(body, f'transition{i - 1}'),
        getattr(body, f'stage{i}')
    ] for i in range(2, 5)]


# What the front replaces in each backbone it wraps, by class name.
FITTERS = {
    'PyramidVisionTransformerV2': _fit_pvt,
    'DaViT': _fit_davit,
    'HRNet': _fit_hrnet,
}


@MODELS.register_module()
class HighResFront(BaseModule):
    """HIRI-ViT's high-resolution front in front of a four-stage backbone
    (paper §5.7, Table 9: HRNet, PVTv2 and DaViT "with the five-stage and
    two-branch design" at 448).

    The HR-stem (§4.1) takes the image to stride 4, a stage of HR-blocks
    (§4.2) runs there, and IRDS-a (§4.3) takes it to stride 8 at the width
    the wrapped backbone's first stage reads. The wrapped backbone's own stem
    or first patch embedding is removed and its stages 1-4 follow at strides
    8-64, so at 448 they see the grids they see at 224 in the plain
    backbone. What is replaced in each backbone (:data:`FITTERS`):

    - PVTv2 (mmdet): the first stage's 7x7 stride-4 patch embedding.
    - DaViT (mmpretrain): the 7x7 stride-4 patch embedding.
    - HRNet (mmdet, mmseg, mmpretrain): the two-conv stem (its ReLU stays).

    Levels are numbered as HIRI-ViT's stages: 0 is the front stage (stride
    4), 1-4 the wrapped backbone's four outputs (strides 8-64).

    **Ours**: the front takes HIRI-ViT's stage-1 design with the zoo's
    rules: half the width of what it feeds (as HIRI-ViT's stage 1 is half of
    stage 2), one pair of HR-blocks, MLP ratio 8, IRDS-a expanding twice.

    Args:
        backbone (dict): Config of the backbone to wrap, with the scope
            (``'mmdet.PyramidVisionTransformerV2'``, ``'mmpretrain.DaViT'``,
            ``'mmpretrain.HRNet'``, ...). Its ``out_indices``, where it has
            them, must give all four stages.
        front_channels (int, optional): Width of the front stage. Defaults
            to half the wrapped first stage's input width.
        front_depth (int): HR-blocks in the front stage, even (they come in
            pairs, §5.4). Defaults to 2.
        mlp_ratio (float): Expansion of the HR-blocks. Defaults to 8.
        ds_ratio (float): Expansion of IRDS-a. Defaults to 2.
        out_indices (Sequence[int]): Levels to return. Defaults to
            ``(1, 2, 3, 4)``.
        frozen_stages (int): ``-1`` freezes nothing, ``0`` the HR-stem,
            ``1`` also the front stage, ``k`` in 2..5 also IRDS-a and the
            wrapped stages 1..k-1, each with the layer that leads into it.
            Frozen parts stay in eval mode. Defaults to -1.
        norm_eval (bool): Keep every BN layer in eval mode during training.
            Defaults to False.
        drop_path_rate (float): Stochastic depth of the HR-blocks, increased
            linearly over them (the wrapped backbone has its own). Defaults
            to 0.
        with_cp (bool | Sequence[bool]): Recompute the front (HR-stem,
            HR-blocks, IRDS-a) in backward instead of keeping its
            activations; one flag, alone or in a sequence (the front is one
            stage; the wrapped backbone has its own ``with_cp``).
        norm_cfg (dict): Norm of the front. Defaults to ``dict(type='BN')``.
        act_cfg (dict): Activation of the front. Defaults to
            ``dict(type='GELU')``.
        init_cfg (dict, optional): Initialisation config, e.g.
            ``dict(type='Pretrained', checkpoint=..., prefix='backbone.')``.
    """

    def __init__(self,
                 backbone: Dict,
                 front_channels: Optional[int] = None,
                 front_depth: int = 2,
                 mlp_ratio: float = 8,
                 ds_ratio: float = 2,
                 out_indices: Sequence[int] = (1, 2, 3, 4),
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 drop_path_rate: float = 0.,
                 with_cp: Union[bool, Sequence[bool]] = False,
                 norm_cfg: Dict = dict(type='BN'),
                 act_cfg: Dict = dict(type='GELU'),
                 init_cfg: Union[Dict, None] = None):
        super().__init__(init_cfg=init_cfg)
        body = MODELS.build(backbone)
        name = type(body).__name__
        if name not in FITTERS:
            raise ValueError(
                f'HighResFront cannot wrap {backbone.get("type")!r} ({name}): '
                f'it knows where the stem is only in '
                f'{", ".join(sorted(FITTERS))}.')
        self.out_indices = parse_out_indices(
            out_indices, LEVELS, owner='HighResFront',
            note='0: the front stage, 1-4: the wrapped stages')
        check_frozen_stages(frozen_stages, LEVELS)
        if not (is_int(front_depth) and front_depth > 0
                and front_depth % 2 == 0):
            raise ValueError(f'front_depth must be a positive even int (HR-'
                             f'blocks come in pairs), got {front_depth!r}')
        check_drop_path_rate(drop_path_rate)
        if front_channels is not None and not (
                is_int(front_channels) and front_channels > 0):
            raise ValueError(f'front_channels must be a positive int or None '
                             f'(half the width it feeds), got '
                             f'{front_channels!r}')
        width, self._body_stages = FITTERS[name](body)
        channels = front_channels or width // 2
        self.stem = HRStem(3, channels, norm_cfg, act_cfg)
        rates = torch.linspace(0, drop_path_rate, front_depth).tolist()
        self.stage = Sequential(*[
            HRBlock(channels, mlp_ratio, rate, norm_cfg, act_cfg)
            for rate in rates
        ])
        self.downsample = IRDSa(channels, width, ds_ratio, norm_cfg, act_cfg)
        self.body = body
        self.frozen_stages = frozen_stages
        self.norm_eval = check_flag('norm_eval', norm_eval)
        [self.with_cp] = parse_flags('with_cp', with_cp, 1)
        self._freeze_stages()

    def _frozen_modules(self):
        groups = [[self.stem], [self.stage],
                  [self.downsample, *self._body_stages[0]],
                  *self._body_stages[1:]]
        for group in groups[:self.frozen_stages + 1]:
            yield from group

    def _freeze_stages(self):
        freeze(self._frozen_modules())

    def init_weights(self):
        """Initialise as ``init_cfg`` says (a ``Pretrained`` checkpoint loads
        safely), else each part as it initialises itself."""
        with mmengine_loading():
            super().init_weights()

    def train(self, mode=True):
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            batch_norms_eval(self)
        return self

    def _run(self, module, x):
        """``module(x)``, recomputed in backward with ``with_cp``."""
        if self.with_cp and needs_grad(module, x):
            return recompute(module, x)
        return module(x)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """Return the maps of ``out_indices`` (NCHW, strides 4-64)."""
        front = self._run(self.stem, x)
        for block in self.stage:
            front = self._run(block, front)
        levels = [front, *self.body(self._run(self.downsample, front))]
        if len(levels) != LEVELS:
            raise RuntimeError(
                f'the wrapped {type(self.body).__name__} returned '
                f'{len(levels) - 1} maps; HighResFront needs all four (set '
                f'its out_indices to (0, 1, 2, 3))')
        return tuple(levels[i] for i in self.out_indices)
