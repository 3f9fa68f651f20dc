"""HRViT: Multi-Scale High-Resolution Vision Transformer.

Gu, Kwon, Wang, Huang, Chandra, Yu, Pan; CVPR 2022 (arXiv 2111.01236).
HIRI-ViT's peer: another answer to high resolution at low cost, keeping
high-resolution branches alive through the whole network as HRNet does,
with transformer blocks in every branch and dense fusion between them.

Written anew from the paper and the design its release implements (its code,
under a non-commercial licence, is not used); docs/hrvit.md maps the paper's
parts to the classes here and says what is ours.
"""
import math
from copy import deepcopy
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule, build_norm_layer
from mmengine.model import BaseModule, ModuleList, Sequential

from mmhirivit.registry import MODELS
from mmhirivit.utils.checkpoint import mmengine_loading

from .common import (DEFAULT_INIT_CFG, batch_norms_eval, check_drop_path_rate,
                     check_flag, check_frozen_stages, drop_path_layer, freeze,
                     is_int, needs_grad, parse_flags, parse_out_indices,
                     recompute)

#: Branches after each of the six units: the paper's stages 1-4 hold 1, 1,
#: 2 and 2 units with 1, 2, 3 and 4 branches.
UNIT_BRANCHES = (1, 2, 3, 3, 4, 4)
UNIT_STAGE = (0, 1, 2, 2, 3, 3)
NUM_BRANCHES = 4
STEM_CHANNELS = (32, 64)
MIN_INPUT_SIZE = 32


class HRViTStem(BaseModule):
    """Two 3x3 stride-2 convs, 3 -> 32 -> 64 channels, each with BN and ReLU:
    the image at stride 4."""

    def __init__(self, in_channels, norm_cfg, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        mid, out = STEM_CHANNELS
        self.conv1 = ConvModule(in_channels, mid, 3, 2, 1, norm_cfg=norm_cfg)
        self.conv2 = ConvModule(mid, out, 3, 2, 1, norm_cfg=norm_cfg)

    def forward(self, x):
        return self.conv2(self.conv1(x))


def kronecker_factor(channels):
    """The inner factor ``p`` of the diversity-enhanced shortcut for
    ``channels``: ``2 ** (e - e // 2)`` with ``e = floor(log2 channels)``."""
    e = int(math.log2(channels))
    return 2**(e - e // 2)


class DES(BaseModule):
    """Diversity-enhanced shortcut: a Kronecker-factored projection of the
    channels. With ``p`` from :func:`kronecker_factor`, the channels are seen
    as ``(C / p, p)``: a linear layer over ``p``, a transpose, GELU, then a
    linear layer over ``C / p``. **Ours**: both linear layers have biases.

    Args:
        channels (int): Input and output channels; a multiple of its
            factor ``p``.
    """

    def __init__(self, channels, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.p = kronecker_factor(channels)
        if channels % self.p:
            raise ValueError(f'the diversity-enhanced shortcut splits '
                             f'{channels} channels into ({channels}/'
                             f'{self.p}, {self.p}); choose a width that is a '
                             f'multiple of {self.p}')
        self.q = channels // self.p
        self.inner = nn.Linear(self.p, self.p)
        self.outer = nn.Linear(self.q, self.q)

    def forward(self, x):
        """x: (..., C) tokens."""
        shape = x.shape
        x = self.inner(x.reshape(*shape[:-1], self.q, self.p))
        x = F.gelu(x.transpose(-1, -2))
        return self.outer(x).reshape(shape)


class MixCFN(BaseModule):
    """Mixed-scale convolutional feed-forward network: a linear expansion, a
    depthwise 3x3 conv on half the hidden channels and a 5x5 one on the
    other half, GELU, a linear projection back."""

    def __init__(self, channels, mlp_ratio, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        hidden = int(channels * mlp_ratio)
        self.split = hidden // 2
        self.fc1 = nn.Linear(channels, hidden)
        self.conv3 = nn.Conv2d(self.split, self.split, 3, padding=1,
                               groups=self.split)
        rest = hidden - self.split
        self.conv5 = nn.Conv2d(rest, rest, 5, padding=2, groups=rest)
        self.fc2 = nn.Linear(hidden, channels)

    def forward(self, x):
        """x: (B, H, W, C) tokens."""
        x = self.fc1(x).permute(0, 3, 1, 2)
        small, large = x[:, :self.split], x[:, self.split:]
        x = torch.cat([self.conv3(small), self.conv5(large)], dim=1)
        return self.fc2(F.gelu(x).permute(0, 2, 3, 1))


def stripe_attention(q, v, width, heads, vertical):
    """Attention within stripes ``width`` rows high (``vertical``: columns
    wide) and the map's full width (height), the key being the value.

    The map is padded at the bottom (right) to whole stripes; the padded keys
    are masked out and the padded queries cropped.

    Args:
        q, v (Tensor): (B, H, W, c).
    Returns:
        Tensor: (B, H, W, c).
    """
    if vertical:
        q, v = q.transpose(1, 2), v.transpose(1, 2)
    B, H, W, c = q.shape
    pad = -H % width
    mask = None
    n, dim = (H + pad) // width, c // heads
    # Traced for export the size is symbolic: pad and mask always (the mask
    # then keeps every key where nothing was padded).
    if torch.compiler.is_compiling() or pad:
        q, v = (F.pad(t, (0, 0, 0, 0, 0, pad)) for t in (q, v))
        # Per stripe, which of its width x W keys are real rows.
        valid = (torch.arange(H + pad, device=q.device) < H).view(n, width, 1)
        mask = valid.expand(n, width, W).reshape(1, n, 1, 1, width * W)
        mask = mask.expand(B, -1, -1, -1, -1).reshape(B * n, 1, 1, width * W)

    def to_stripes(t):
        return t.reshape(B, n, width, W, heads, dim).permute(
            0, 1, 4, 2, 3, 5).reshape(B * n, heads, width * W, dim)

    q, v = to_stripes(q), to_stripes(v)
    out = F.scaled_dot_product_attention(q, v, v, attn_mask=mask)
    out = out.reshape(B, n, heads, width, W, dim).permute(
        0, 1, 3, 4, 2, 5).reshape(B, n * width, W, c)[:, :H]
    return out.transpose(1, 2) if vertical else out


class StripeAttention(BaseModule):
    """HRViT's attention: one linear layer gives queries and values (the key
    is the value, shared key-value); half the channels attend within
    horizontal stripes (``window`` rows x the full width), half within
    vertical ones (``window`` columns x the full height). A parallel path
    (Hardswish, depthwise 3x3 conv on the values) is added to the result,
    then Hardswish, a linear projection and BN over the channels, whose
    weight and bias start at zero.

    Args:
        channels (int): Channels (even).
        head_dim (int): Channels per head; each half has
            ``(channels / 2) / head_dim`` heads, and one head where half
            the channels are fewer than ``head_dim``.
        window (int): Stripe width.
        norm_cfg (dict): The BN after the projection.
    """

    def __init__(self, channels, head_dim, window, norm_cfg, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if channels % 2:
            raise ValueError(f'HRViT attention halves its channels; '
                             f'{channels} is odd')
        half = channels // 2
        self.heads = max(1, half // head_dim)
        if half % self.heads:
            raise ValueError(f'{half} channels (half of {channels}) do not '
                             f'split into {self.heads} heads of {head_dim}')
        self.window = window
        self.qv = nn.Linear(channels, 2 * channels)
        self.parallel = nn.Sequential(
            nn.Hardswish(),
            nn.Conv2d(channels, channels, 3, padding=1, groups=channels))
        self.proj = nn.Linear(channels, channels)
        self.norm = build_norm_layer(norm_cfg, channels)[1]

    def zero_init(self):
        """The output BN starts at zero: each block starts as its shortcut."""
        nn.init.zeros_(self.norm.weight)
        nn.init.zeros_(self.norm.bias)

    def forward(self, x):
        """x: (B, H, W, C) tokens."""
        half = x.shape[-1] // 2
        q, v = self.qv(x).chunk(2, dim=-1)
        out = torch.cat([
            stripe_attention(q[..., :half], v[..., :half], self.window,
                             self.heads, vertical=False),
            stripe_attention(q[..., half:], v[..., half:], self.window,
                             self.heads, vertical=True)
        ], dim=-1)
        out = out + self.parallel(v.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
        out = self.proj(F.hardswish(out))
        return self.norm(out.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)


class HRViTBlock(BaseModule):
    """``x = x + DropPath(Attn(LN(x)) + DES(x))``, then
    ``x = x + DropPath(MixCFN(LN(x)))``, on (B, H, W, C) tokens."""

    def __init__(self, channels, head_dim, window, mlp_ratio, drop_path,
                 norm_cfg, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.norm1 = nn.LayerNorm(channels)
        self.attn = StripeAttention(channels, head_dim, window, norm_cfg)
        self.shortcut = DES(channels)
        self.norm2 = nn.LayerNorm(channels)
        self.ffn = MixCFN(channels, mlp_ratio)
        self.drop_path = drop_path_layer(drop_path)

    def forward(self, x):
        x = x + self.drop_path(self.attn(self.norm1(x)) + self.shortcut(x))
        return x + self.drop_path(self.ffn(self.norm2(x)))


class PatchEmbed(BaseModule):
    """A branch's patch embedding at the start of each unit: 1x1 conv, 3x3
    depthwise conv, LayerNorm; NCHW maps in, (B, H, W, C) tokens out."""

    def __init__(self, channels, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.proj = nn.Conv2d(channels, channels, 1)
        self.dwconv = nn.Conv2d(channels, channels, 3, padding=1,
                                groups=channels)
        self.norm = nn.LayerNorm(channels)

    def forward(self, x):
        return self.norm(self.dwconv(self.proj(x)).permute(0, 2, 3, 1))


def _conv_bn(in_channels, out_channels, norm_cfg, kernel=1, stride=1,
             groups=1):
    return ConvModule(in_channels, out_channels, kernel, stride,
                      kernel // 2, groups=groups, norm_cfg=norm_cfg,
                      act_cfg=None)


class FusionBlock(BaseModule):
    """Dense fusion across branches, and the creation of a new branch: every
    output branch sums every input branch brought to its resolution, then
    GELU.

    - same resolution: identity (**ours**: a 1x1 conv and BN where the
      widths differ, as from the stem into the first branch);
    - higher to lower by ``2 ** d``: a depthwise conv of kernel
      ``2 ** d + 1`` and stride ``2 ** d`` with BN, then a 1x1 conv with BN;
    - lower to higher: a 1x1 conv with BN, then nearest upsampling to the
      higher branch's exact size.

    Args:
        in_channels (Sequence[int]): Widths of the input branches (the
            stem's map is the first).
        out_channels (Sequence[int]): Widths of the output branches.
    """

    def __init__(self, in_channels, out_channels, norm_cfg, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.paths = ModuleList()
        for j, cout in enumerate(out_channels):
            paths = ModuleList()
            for i, cin in enumerate(in_channels):
                if i == j:
                    path = nn.Identity() if cin == cout else _conv_bn(
                        cin, cout, norm_cfg)
                elif i < j:
                    step = 2**(j - i)
                    path = Sequential(
                        _conv_bn(cin, cin, norm_cfg, step + 1, step, cin),
                        _conv_bn(cin, cout, norm_cfg))
                else:
                    path = _conv_bn(cin, cout, norm_cfg)
                paths.append(path)
            self.paths.append(paths)

    def forward(self, maps):
        outs = []
        for j, paths in enumerate(self.paths):
            total = 0
            for i, (path, x) in enumerate(zip(paths, maps)):
                y = path(x)
                if i > j:  # to the exact size of the higher branch
                    y = F.interpolate(y, size=maps[j].shape[-2:],
                                      mode='nearest')
                total = total + y
            outs.append(F.gelu(total))
        return outs


class Unit(BaseModule):
    """One of HRViT's six units: a fusion block, then per branch a patch
    embedding, its blocks and a closing LayerNorm."""

    def __init__(self, in_channels, channels, depths, head_dim, windows,
                 mlp_ratios, drop_paths, norm_cfg, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.fusion = FusionBlock(in_channels, channels, norm_cfg)
        self.embeds = ModuleList([PatchEmbed(c) for c in channels])
        self.branches = ModuleList([
            Sequential(*[
                HRViTBlock(c, head_dim, windows[b], mlp_ratios[b],
                           drop_paths[k], norm_cfg) for k in range(depth)
            ]) for b, (c, depth) in enumerate(zip(channels, depths))
        ])
        self.norms = ModuleList([nn.LayerNorm(c) for c in channels])


@MODELS.register_module()
class HRViT(BaseModule):
    """HRViT backbone (Gu et al., CVPR 2022, arXiv 2111.01236).

    A stride-4 stem, then six units of up to four branches at strides 4, 8,
    16 and 32 (the paper's stages 1-4 hold 1, 1, 2 and 2 units with 1-4
    branches); each unit fuses every branch into every other and creates
    the next branch, then runs transformer blocks with stripe attention,
    a diversity-enhanced shortcut and MixCFN in each branch. The last unit's
    four branches are the outputs. docs/hrvit.md maps the parts to the
    paper and says what is ours.

    Args:
        arch (str | dict): ``'b1'``, ``'b2'``, ``'b3'``, or a dict with
            exactly ``embed_dims`` (four widths), ``depths`` (six tuples of
            block counts, one per branch of the unit), ``head_dim`` and
            ``mlp_ratios`` (one per branch).
        in_channels (int): Input channels. Defaults to 3.
        out_indices (int | Sequence[int]): Branches to return, 0-3
            (negatives from the end). Defaults to ``(0, 1, 2, 3)``.
        frozen_stages (int): -1 nothing, 0 the stem, k the stem and the
            units of stages 1..k. Frozen parts stay in eval mode.
        norm_eval (bool): Keep every BN in eval mode while training.
        drop_path_rate (float): Stochastic depth in [0, 1), rising linearly
            over the units' longest branches; block j of a unit has the same
            rate in every branch.
        with_cp (bool | Sequence[bool]): Recompute the blocks in backward,
            for every stage or one flag per stage (four).
        window_sizes (Sequence[int]): Stripe width per branch. Defaults to
            ``(1, 2, 7, 7)`` (the paper's ADE20K and ImageNet setting).
        norm_cfg (dict): The batch norm. Defaults to ``dict(type='BN')``.
        init_cfg (dict | list[dict], optional): E.g. ``dict(type=
            'Pretrained', checkpoint=..., prefix='backbone.')``.
    """

    arch_zoo = {
        'b1': {
            'embed_dims': [32, 64, 128, 256],
            'depths': [[1], [1, 1], [1, 1, 6], [1, 1, 6], [1, 1, 6, 2],
                       [1, 1, 2, 2]],
            'head_dim': 32,
            'mlp_ratios': [4, 4, 4, 4],
        },
        'b2': {
            'embed_dims': [48, 96, 240, 384],
            'depths': [[1], [1, 1], [1, 1, 6], [1, 1, 6], [1, 1, 6, 2],
                       [1, 1, 6, 2]],
            'head_dim': 24,
            'mlp_ratios': [2, 3, 3, 3],
        },
        'b3': {
            'embed_dims': [64, 128, 256, 512],
            'depths': [[1], [1, 1], [1, 1, 6], [1, 1, 6], [1, 1, 6, 3],
                       [1, 1, 6, 3]],
            'head_dim': 32,
            'mlp_ratios': [2, 2, 2, 2],
        },
    }  # yapf: disable
    arch_keys = frozenset({'embed_dims', 'depths', 'head_dim', 'mlp_ratios'})

    def __init__(self,
                 arch: Union[str, Dict] = 'b1',
                 in_channels: int = 3,
                 out_indices: Union[int, Sequence[int]] = (0, 1, 2, 3),
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 drop_path_rate: float = 0.,
                 with_cp: Union[bool, Sequence[bool]] = False,
                 window_sizes: Sequence[int] = (1, 2, 7, 7),
                 norm_cfg: Dict = dict(type='BN'),
                 init_cfg: Optional[Union[Dict, Sequence[Dict]]] = None):
        if init_cfg is None:
            init_cfg = list(deepcopy(DEFAULT_INIT_CFG))
        super().__init__(init_cfg=init_cfg)
        settings = self.parse_arch(arch)
        if not is_int(in_channels) or in_channels < 1:
            raise ValueError(
                f'in_channels must be a positive int, got {in_channels!r}')
        if not (isinstance(window_sizes, Sequence) and len(window_sizes) ==
                NUM_BRANCHES and all(is_int(w) and w > 0
                                     for w in window_sizes)):
            raise ValueError(f'window_sizes must be {NUM_BRANCHES} positive '
                             f'ints (one per branch), got {window_sizes!r}')
        check_drop_path_rate(drop_path_rate)
        self.arch_settings = settings
        self.in_channels = in_channels
        self.out_indices = parse_out_indices(out_indices, NUM_BRANCHES,
                                             owner='HRViT',
                                             note='one per branch')
        self.frozen_stages = check_frozen_stages(frozen_stages, 4)
        self.norm_eval = check_flag('norm_eval', norm_eval)
        self.with_cp = parse_flags('with_cp', with_cp, 4)
        dims = settings['embed_dims']
        self.out_channels = tuple(dims[i] for i in self.out_indices)
        self.strides = tuple(4 * 2**i for i in self.out_indices)
        self.min_input_size = MIN_INPUT_SIZE

        unit_depths = [max(d) for d in settings['depths']]
        rates = torch.linspace(0, drop_path_rate, sum(unit_depths),
                               device='cpu').tolist()
        self.stem = HRViTStem(in_channels, norm_cfg)
        self.units = ModuleList()
        previous = [STEM_CHANNELS[-1]]
        for u, depths in enumerate(settings['depths']):
            channels = dims[:UNIT_BRANCHES[u]]
            start = sum(unit_depths[:u])
            self.units.append(
                Unit(previous, channels, depths, settings['head_dim'],
                     window_sizes, settings['mlp_ratios'],
                     rates[start:start + unit_depths[u]], norm_cfg))
            previous = channels
        self._freeze_stages()

    @classmethod
    def parse_arch(cls, arch):
        """The settings of ``arch`` (a name of :attr:`arch_zoo` or a custom
        dict, checked)."""
        if isinstance(arch, str):
            if arch.lower() not in cls.arch_zoo:
                raise ValueError(f'Unknown arch {arch!r}; choose one of '
                                 f'{sorted(cls.arch_zoo)} or pass a dict.')
            return deepcopy(cls.arch_zoo[arch.lower()])
        if not isinstance(arch, dict) or set(arch) != cls.arch_keys:
            keys = sorted(arch) if isinstance(arch, dict) else arch
            raise ValueError(f'A custom HRViT arch is a dict with exactly the '
                             f'keys {sorted(cls.arch_keys)}, got {keys!r}')
        dims, depths = arch['embed_dims'], arch['depths']
        if not (isinstance(dims, Sequence) and len(dims) == NUM_BRANCHES
                and all(is_int(c) and c > 0 and c % 2 == 0 for c in dims)):
            raise ValueError(f"arch['embed_dims'] must be {NUM_BRANCHES} "
                             f'positive even ints, got {dims!r}')
        shape = [len(d) if isinstance(d, Sequence) else None for d in depths]
        if not isinstance(depths, Sequence) or shape != list(
                UNIT_BRANCHES) or not all(
                    is_int(k) and k > 0 for d in depths for k in d):
            raise ValueError(f"arch['depths'] must be six sequences of "
                             f'positive block counts, of lengths '
                             f'{UNIT_BRANCHES} (one per branch of each unit), '
                             f'got {depths!r}')
        ratios = arch['mlp_ratios']
        if not (isinstance(ratios, Sequence) and len(ratios) == NUM_BRANCHES
                and all(isinstance(r, (int, float)) and r > 0
                        for r in ratios)):
            raise ValueError(f"arch['mlp_ratios'] must be {NUM_BRANCHES} "
                             f'positive numbers, got {ratios!r}')
        if not is_int(arch['head_dim']) or arch['head_dim'] < 1:
            raise ValueError(f"arch['head_dim'] must be a positive int, got "
                             f"{arch['head_dim']!r}")
        return deepcopy(dict(arch))

    def _frozen_modules(self):
        if self.frozen_stages >= 0:
            yield self.stem
        for unit, stage in zip(self.units, UNIT_STAGE):
            if stage < self.frozen_stages:
                yield unit

    def _freeze_stages(self):
        freeze(self._frozen_modules())

    def init_weights(self):
        """Initialise as ``init_cfg`` says (a ``Pretrained`` checkpoint loads
        safely); from scratch, each attention's output BN then starts at
        zero."""
        with mmengine_loading():
            super().init_weights()
        pretrained = isinstance(self.init_cfg, dict) and \
            self.init_cfg.get('type') == 'Pretrained'
        if not pretrained:
            for module in self.modules():
                if isinstance(module, StripeAttention):
                    module.zero_init()

    def train(self, mode=True):
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            batch_norms_eval(self)
        return self

    def _run(self, block, x, stage):
        if self.with_cp[stage] and needs_grad(block, x):
            return recompute(block, x)
        return block(x)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """The branches of ``out_indices`` as NCHW maps of sizes
        ``ceil(H / stride)`` x ``ceil(W / stride)``, strides 4-32."""
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f'HRViT expects an (N, {self.in_channels}, H, W) '
                             f'tensor, got shape {tuple(x.shape)}.')
        if min(x.shape[-2:]) < self.min_input_size:
            raise ValueError(f'HRViT needs inputs of at least '
                             f'{self.min_input_size}x{self.min_input_size} '
                             f'(its largest stride), got '
                             f'{tuple(x.shape[-2:])}.')
        maps = [self.stem(x)]
        for unit, stage in zip(self.units, UNIT_STAGE):
            maps = unit.fusion(maps)
            outs = []
            for embed, blocks, norm, y in zip(unit.embeds, unit.branches,
                                              unit.norms, maps):
                y = embed(y)
                for block in blocks:
                    y = self._run(block, y, stage)
                outs.append(norm(y).permute(0, 3, 1, 2).contiguous())
            maps = outs
        return tuple(maps[i] for i in self.out_indices)
