"""HIRI-ViT: Scaling Vision Transformer with High Resolution Inputs.

Yao, Li, Pan, Mei, TPAMI 2024 (arXiv 2403.11999). A five-stage CNN+ViT hybrid
whose cost stays nearly flat when the input resolution doubles: an HR-stem and
two stages of two-branch HR-blocks (§4.1, §4.2), a stage of CFFN blocks and
two stages of Transformer blocks (§3, §4.6), joined by IRDS down-sampling
(§4.3), with BN in the high-resolution stages and LN in the last two (§4.4).

The paper's Table 1 and figures are not available; every detail the text
leaves open is marked **ours** below, with the evidence it rests on
(``docs/architecture.md`` gives the whole reconstruction).
"""
from copy import deepcopy
from numbers import Real
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import (ConvModule, build_activation_layer, build_norm_layer,
                      fuse_conv_bn)
from mmengine.model import BaseModule, ModuleList, Sequential

from mmhirivit.registry import MODELS
from mmhirivit.utils.checkpoint import mmengine_loading

from .common import (DEFAULT_INIT_CFG, batch_norms_eval, check_drop_path_rate,
                     check_flag, check_frozen_stages, drop_path_layer, freeze,
                     is_int, needs_grad, parse_flags, parse_out_indices,
                     recompute)

NUM_STAGES = 5
STRIDES = (4, 8, 16, 32, 64)
HR_STAGES = (0, 1)
BN_STAGES = (0, 1, 2)  # high-resolution stages: BN; stages 4-5: LN (§4.4)
MIN_INPUT_SIZE = 64
# num_stages: the paper's five-stage network, or its four-stage form for
# 224 inputs (ours), which has no stage 1.
FORMS = (4, 5)


def _check_positive(values, length, name, what, integers=False):
    """Refuse ``values`` unless it is ``length`` positive numbers (ints if
    ``integers``), naming the argument, the value and what is allowed."""
    kind = 'ints' if integers else 'numbers'
    is_number = is_int if integers else (
        lambda v: isinstance(v, Real) and not isinstance(v, bool))
    if not isinstance(values, Sequence) or isinstance(values, str) or len(
            values) != length or not all(
                is_number(v) and v > 0 for v in values):
        raise ValueError(f'{name} must be {length} positive {kind} ({what}), '
                         f'got {values!r}')


# The batch norms ``norm_cfg`` may name: BN normalises the stem, stages 1-3
# and every CFFN; stages 4-5 use LN otherwise (§4.4).
BATCH_NORMS = ('BN', 'BN2d', 'SyncBN', 'MMSyncBN')


def _check_layer_cfgs(norm_cfg, act_cfg, init_cfg):
    """Refuse a norm that is not a batch norm, an activation MMEngine does
    not know and an ``init_cfg`` that is not dicts."""
    if not isinstance(norm_cfg, dict) or norm_cfg.get(
            'type') not in BATCH_NORMS:
        raise ValueError(f'norm_cfg must be a dict with type one of '
                         f'{BATCH_NORMS}: it is the batch norm of the stem, '
                         f'stages 1-3 and every CFFN, while stages 4-5 use '
                         f'LN otherwise (paper §4.4); got {norm_cfg!r}')
    if not isinstance(act_cfg, dict) or MODELS.get(act_cfg.get(
            'type')) is None:
        raise ValueError(f'act_cfg must be a dict whose type is a registered '
                         f"activation (e.g. 'GELU', 'ReLU'), got {act_cfg!r}")
    cfgs = init_cfg if isinstance(init_cfg, (list, tuple)) else [init_cfg]
    if init_cfg is not None and not all(
            isinstance(c, dict) and 'type' in c for c in cfgs):
        raise ValueError(f"init_cfg must be None, a dict with a 'type' or a "
                         f'list of them, got {init_cfg!r}')


def _conv_bn(in_channels, out_channels, kernel_size, stride=1, groups=1,
             norm_cfg=None, act_cfg=None, with_norm=True):
    """A bias-free conv, optionally followed by a norm and an activation."""
    return ConvModule(
        in_channels,
        out_channels,
        kernel_size,
        stride=stride,
        padding=kernel_size // 2,
        groups=groups,
        bias=not with_norm,
        norm_cfg=norm_cfg if with_norm else None,
        act_cfg=act_cfg)


def _bn_affine(bn):
    """``(scale, shift)`` with ``bn(x) == scale * x + shift`` per channel,
    as an eval-mode BN computes."""
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    return scale, bn.bias - bn.running_mean * scale


@torch.no_grad()
def _fold_affine_after(conv, scale, shift=None):
    """Make ``conv`` compute ``conv(x) * scale + shift`` (per output
    channel)."""
    conv.weight.mul_(scale.view(-1, 1, 1, 1))
    if conv.bias is not None:
        conv.bias.mul_(scale)
    if shift is not None:
        if conv.bias is None:
            conv.bias = nn.Parameter(torch.zeros_like(shift))
        conv.bias.add_(shift)


@torch.no_grad()
def _fold_affine_before(conv, scale, shift):
    """Make the 1x1 ``conv`` compute ``conv(x * scale + shift)`` (per input
    channel); exact since a 1x1 conv pads nothing."""
    if conv.kernel_size != (1, 1) or conv.groups != 1:
        raise ValueError(f'only a dense 1x1 conv takes a norm before it, '
                         f'got {conv}')
    weight = conv.weight.flatten(1)
    if conv.bias is None:
        conv.bias = nn.Parameter(torch.zeros_like(weight[:, 0]))
    conv.bias.add_(weight @ shift)
    conv.weight.mul_(scale.view(1, -1, 1, 1))


class LayerNorm2d(nn.LayerNorm):
    """LN over the channels of (B, C, H, W) maps: the norm of stages 4-5
    outside the CFFN (paper §4.4). Computed along dim 1: written as
    ``layer_norm`` over channels-last tokens, the ONNX export of the
    classifier at 64x64 (a 1x1 stage-5 map) failed at other input sizes."""

    def forward(self, x):
        mean = x.mean(1, keepdim=True)
        var = (x - mean).pow(2).mean(1, keepdim=True)
        x = (x - mean) * torch.rsqrt(var + self.eps)
        return x * self.weight[:, None, None] + self.bias[:, None, None]


class HRStem(BaseModule):
    """HR-stem (paper §4.1, Fig. 3c): output stride 4 with two branches.

    A 3x3 stride-2 conv halves the input. Then the high-resolution branch
    applies a light depthwise 3x3 conv followed by a 3x3 stride-2 conv, while
    the low-resolution branch first downsamples with a 3x3 stride-2 conv and
    then applies a 3x3 and a 1x1 conv. The branch outputs are summed and
    normalised by BN.

    **Ours**: every conv has ``out_channels`` channels; the first conv and the
    first two convs of the low-resolution branch are followed by BN and the
    activation, the other convs by nothing (the final BN normalises the sum).

    Args:
        in_channels (int): Input image channels.
        out_channels (int): Output channels (the width of stage 1).
        norm_cfg (dict): Config of the BN layers.
        act_cfg (dict): Config of the activation.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self, in_channels, out_channels, norm_cfg, act_cfg,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        c = out_channels
        self.conv = _conv_bn(in_channels, c, 3, 2, norm_cfg=norm_cfg,
                             act_cfg=act_cfg)
        self.high_res = Sequential(
            _conv_bn(c, c, 3, groups=c, with_norm=False, act_cfg=None),
            _conv_bn(c, c, 3, 2, with_norm=False, act_cfg=None))
        self.low_res = Sequential(
            _conv_bn(c, c, 3, 2, norm_cfg=norm_cfg, act_cfg=act_cfg),
            _conv_bn(c, c, 3, norm_cfg=norm_cfg, act_cfg=act_cfg),
            _conv_bn(c, c, 1, with_norm=False, act_cfg=None))
        self.norm = build_norm_layer(norm_cfg, c)[1]

    def switch_to_deploy(self):
        """Fold the BN after the branch sum into both branches' last
        convs."""
        scale, shift = _bn_affine(self.norm)
        _fold_affine_after(self.high_res[-1].conv, scale)
        _fold_affine_after(self.low_res[-1].conv, scale, shift)
        self.norm = nn.Identity()

    def forward(self, x):
        x = self.conv(x)
        return self.norm(self.high_res(x) + self.low_res(x))


class HRBlock(BaseModule):
    """HR-block (paper §4.2, Fig. 4) of stages 1 and 2, stacked in pairs: two
    HR-blocks replace each CFFN block of those stages (§5.4, Table 7 row 10).

    The high-resolution branch is one depthwise 3x3 conv at full resolution.
    The low-resolution branch is a depthwise 3x3 stride-2 conv with BN, then a
    feed-forward layer (1x1 conv expanding by ``mlp_ratio``, activation, 1x1
    conv back) at half resolution, upsampled x2 by repetition (nearest) and
    added to the high-resolution output.

    **Ours**: pre-norm BN, a residual connection around the block and
    drop-path on the residual branch; the upsampling targets the exact size
    of the high-resolution branch, so odd feature sizes work.

    Args:
        dims (int): Channels.
        mlp_ratio (float): Expansion ratio of the low-resolution FFN.
        drop_path (float): Drop-path rate of this block.
        norm_cfg (dict): Config of the BN layers.
        act_cfg (dict): Config of the activation.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self, dims, mlp_ratio, drop_path, norm_cfg, act_cfg,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        hidden = int(dims * mlp_ratio)
        self.norm = build_norm_layer(norm_cfg, dims)[1]
        self.high_res = _conv_bn(dims, dims, 3, groups=dims, with_norm=False)
        self.low_res = Sequential(
            _conv_bn(dims, dims, 3, 2, groups=dims, norm_cfg=norm_cfg),
            _conv_bn(dims, hidden, 1, with_norm=False, act_cfg=act_cfg),
            _conv_bn(hidden, dims, 1, with_norm=False))
        self.drop_path = drop_path_layer(drop_path)

    def forward(self, x):
        y = self.norm(x)
        high = self.high_res(y)
        low = F.interpolate(self.low_res(y), size=high.shape[-2:],
                            mode='nearest')
        return x + self.drop_path(high + low)


class CFFN(BaseModule):
    """Convolutional feed-forward network (paper §3, Eq. 3).

    ``CFFN(X) = FC(DWConv(z) + z)``, ``z = act(FC(X))``, with FC as 1x1 convs
    on NCHW maps and a depthwise 3x3 conv.

    Args:
        dims (int): Input and output channels.
        mlp_ratio (float): Expansion ratio of the hidden layer.
        act_cfg (dict): Config of the activation (**ours**: GELU).
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self, dims, mlp_ratio, act_cfg, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        hidden = int(dims * mlp_ratio)
        self.fc1 = nn.Conv2d(dims, hidden, 1)
        self.act = build_activation_layer(act_cfg)
        self.dwconv = nn.Conv2d(hidden, hidden, 3, padding=1, groups=hidden)
        self.fc2 = nn.Conv2d(hidden, dims, 1)

    def forward(self, x):
        z = self.act(self.fc1(x))
        return self.fc2(self.dwconv(z) + z)


class CFFNBlock(BaseModule):
    """A stage-3 block: ``x + DropPath(CFFN(BN(x)))`` (paper §4.6, no MHA).

    **Ours**: pre-norm BN, residual and drop-path.

    Args:
        dims (int): Channels.
        mlp_ratio (float): CFFN expansion ratio.
        drop_path (float): Drop-path rate of this block.
        norm_cfg (dict): Config of the BN layer.
        act_cfg (dict): Config of the CFFN activation.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self, dims, mlp_ratio, drop_path, norm_cfg, act_cfg,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.norm = build_norm_layer(norm_cfg, dims)[1]
        self.ffn = CFFN(dims, mlp_ratio, act_cfg)
        self.drop_path = drop_path_layer(drop_path)

    def switch_to_deploy(self):
        """Fold the pre-norm BN into the CFFN's first 1x1 conv."""
        _fold_affine_before(self.ffn.fc1, *_bn_affine(self.norm))
        self.norm = nn.Identity()

    def forward(self, x):
        return x + self.drop_path(self.ffn(self.norm(x)))


class MultiheadAttention(BaseModule):
    """Global multi-head self-attention over all tokens (paper §3).

    No spatial reduction, as in the M-ViT baseline of stages 4-5. **Ours**:
    computed with ``torch.nn.functional.scaled_dot_product_attention`` so
    memory stays bounded at detection resolutions.

    Args:
        dims (int): Channels.
        num_heads (int): Number of heads.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self, dims, num_heads, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.num_heads = num_heads
        self.qkv = nn.Linear(dims, dims * 3)
        self.proj = nn.Linear(dims, dims)

    def forward(self, x, mask=None):
        """x: (B, N, C) tokens; mask: None, or (B, 1, 1, N) booleans, False
        for keys no query may attend to."""
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, C // self.num_heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)
        x = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.proj(x.transpose(1, 2).reshape(B, N, C))


def window_partition(x, window):
    """(B, H, W, C) maps to ``(windows, mask, (Hp, Wp))``: (B * n, window²,
    C) tokens of non-overlapping windows, the map padded at the bottom and
    right to whole windows (``Hp`` x ``Wp``), and the key mask that keeps
    the padding out of attention (None when there is none)."""
    B, H, W, C = x.shape
    pad_h, pad_w = -H % window, -W % window
    Hp, Wp = H + pad_h, W + pad_w
    mask = None
    if pad_h or pad_w:
        x = F.pad(x, (0, 0, 0, pad_w, 0, pad_h))
        valid = torch.zeros(Hp, Wp, dtype=torch.bool, device=x.device)
        valid[:H, :W] = True
        mask = valid.reshape(Hp // window, window, Wp // window,
                             window).transpose(1, 2).reshape(
                                 1, -1, 1, 1, window * window)
        mask = mask.expand(B, -1, -1, -1, -1).flatten(0, 1)
    windows = x.reshape(B, Hp // window, window, Wp // window, window,
                        C).transpose(2, 3).reshape(-1, window * window, C)
    return windows, mask, (Hp, Wp)


def window_reverse(windows, window, padded, size):
    """The inverse of :func:`window_partition`: (B, H, W, C) maps of
    ``size`` (H, W), the padding cropped."""
    Hp, Wp = padded
    C = windows.shape[-1]
    x = windows.reshape(-1, Hp // window, Wp // window, window, window,
                        C).transpose(2, 3).reshape(-1, Hp, Wp, C)
    return x[:, :size[0], :size[1]]


class TransformerBlock(BaseModule):
    """Transformer block of stages 4-5 (paper §3, §4.6).

    ``x = x + MHA(LN(x)); x = x + CFFN(BN(x))``: LN before attention, BN
    before the CFFN ("we also replaced LN by BN in the CFFN blocks", §4.4).
    **Ours**: drop-path on both residual branches, and the option of
    windowed attention (``window_size``, for detection-scale inputs, as
    ViTDet does): the map is padded at the bottom and right to whole windows,
    the padding is kept out of attention by a key mask and cropped off
    again, so that a window as large as the map gives global attention
    exactly. Windowing adds no parameters.

    Args:
        dims (int): Channels.
        num_heads (int): Attention heads.
        mlp_ratio (float): CFFN expansion ratio.
        drop_path (float): Drop-path rate of this block.
        norm_cfg (dict): Config of the BN layer before the CFFN.
        act_cfg (dict): Config of the CFFN activation.
        window_size (int, optional): Attend within non-overlapping windows of
            this many tokens per side; None (the paper) attends globally.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self, dims, num_heads, mlp_ratio, drop_path, norm_cfg,
                 act_cfg, window_size=None, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.window_size = window_size
        self.norm1 = nn.LayerNorm(dims)
        self.attn = MultiheadAttention(dims, num_heads)
        self.norm2 = build_norm_layer(norm_cfg, dims)[1]
        self.ffn = CFFN(dims, mlp_ratio, act_cfg)
        self.drop_path = drop_path_layer(drop_path)

    def _attention(self, x):
        """Attention over (B, H, W, C) tokens, globally or in windows."""
        B, H, W, C = x.shape
        if self.window_size is None:
            return self.attn(x.flatten(1, 2)).unflatten(1, (H, W))
        windows, mask, padded = window_partition(x, self.window_size)
        return window_reverse(self.attn(windows, mask), self.window_size,
                              padded, (H, W))

    def switch_to_deploy(self):
        """Fold the BN before the CFFN into its first 1x1 conv."""
        _fold_affine_before(self.ffn.fc1, *_bn_affine(self.norm2))
        self.norm2 = nn.Identity()

    def forward(self, x):
        attn = self._attention(self.norm1(x.permute(0, 2, 3, 1)))
        x = x + self.drop_path(attn.permute(0, 3, 1, 2))
        return x + self.drop_path(self.ffn(self.norm2(x)))


def downsample_shortcut(in_channels, out_channels):
    """The down-sampling shortcut branch of IRDS-a and IRDS-b (paper §4.3).

    **Ours**: a 2x2 average pool (ceil mode, so odd sizes give
    ``ceil(H / 2)`` as the strided convs do) followed by a 1x1 conv when the
    widths differ.
    """
    shortcut = [nn.AvgPool2d(2, ceil_mode=True, count_include_pad=False)]
    if in_channels != out_channels:
        shortcut.append(nn.Conv2d(in_channels, out_channels, 1))
    return Sequential(*shortcut)


class IRDSa(BaseModule):
    """IRDS-a down-sampling before stages 2 and 3 (paper §4.3, Fig. 5b).

    IRDS is "a downsampling layer with two parallel branches". The main
    branch of IRDS-a is a 3x3 stride-2 conv that expands the channels, then a
    1x1 conv that compresses them to the output width; beside it runs the
    down-sampling shortcut (:func:`downsample_shortcut`), and the two are
    summed. **Ours**: the expansion is to ``expand_ratio`` times the output
    width, with BN and the activation after the first conv and BN after the
    second; the shortcut is the one IRDS-b has, since the text names a
    shortcut for IRDS-b only.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        expand_ratio (float): Hidden width as a multiple of ``out_channels``.
        norm_cfg (dict): Config of the BN layers.
        act_cfg (dict): Config of the activation.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self, in_channels, out_channels, expand_ratio, norm_cfg,
                 act_cfg, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        hidden = int(out_channels * expand_ratio)
        self.expand = _conv_bn(in_channels, hidden, 3, 2, norm_cfg=norm_cfg,
                               act_cfg=act_cfg)
        self.compress = _conv_bn(hidden, out_channels, 1, norm_cfg=norm_cfg)
        self.shortcut = downsample_shortcut(in_channels, out_channels)

    def forward(self, x):
        return self.compress(self.expand(x)) + self.shortcut(x)


class IRDSb(BaseModule):
    """IRDS-b down-sampling before stages 4 and 5 (paper §4.3, Fig. 5c).

    Like an inverted residual block (1x1 expand, depthwise 3x3 stride-2, 1x1
    project), with normalisation and activation only after the first conv,
    plus "an extra downsampling shortcut" (:func:`downsample_shortcut`). The
    norm is LN: IRDS-b leads into the low-resolution stages 4-5 (§4.4).
    **Ours**: the expansion is ``expand_ratio`` times the input width.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        expand_ratio (float): Hidden width as a multiple of ``in_channels``.
        act_cfg (dict): Config of the activation.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self, in_channels, out_channels, expand_ratio, act_cfg,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        hidden = int(in_channels * expand_ratio)
        self.expand = Sequential(
            nn.Conv2d(in_channels, hidden, 1, bias=False),
            LayerNorm2d(hidden), build_activation_layer(act_cfg))
        self.dwconv = nn.Conv2d(hidden, hidden, 3, 2, 1, groups=hidden)
        self.project = nn.Conv2d(hidden, out_channels, 1)
        self.shortcut = downsample_shortcut(in_channels, out_channels)

    def forward(self, x):
        return self.project(self.dwconv(self.expand(x))) + self.shortcut(x)


@MODELS.register_module()
class HIRIViT(BaseModule):
    """HIRI-ViT backbone (Yao et al., TPAMI 2024, arXiv 2403.11999, §4.6).

    An :class:`HRStem`, then five stages at strides 4-64: :class:`HRBlock`
    pairs in stages 1-2, :class:`CFFNBlock` in stage 3,
    :class:`TransformerBlock` (global MHA + CFFN) in stages 4-5, joined by
    :class:`IRDSa` and :class:`IRDSb`; BN in the high-resolution parts, LN
    in stages 4-5 (§4.4). At twice the usual image size, stages 2-5
    (``out_indices=(1, 2, 3, 4)``) give the maps a four-stage backbone's
    C2-C5 give at the usual size. ``num_stages=4`` (**ours**) is the form
    for 224 inputs: no stage 1, stages 2-5 at strides 4-32. The zoo is a
    reconstruction (Table 1 is missing): docs/architecture.md gives the
    evidence for every **ours** choice.

    Args:
        arch (str | dict): ``'t'``, ``'s'``, ``'b'``, ``'l'`` (or their long
            names), or a dict with exactly ``embed_dims``, ``depths`` (even
            in stages 1-2) and ``mlp_ratios``, five values each.
        num_stages (int): 5 (the paper) or 4 (the form for 224).
        in_channels (int): Input channels. Defaults to 3.
        out_indices (int | Sequence[int]): Stages to return, 0-based,
            negatives from the end. Defaults to ``(1, 2, 3, 4)``.
        frozen_stages (int): -1 nothing, 0 the stem, k the stem and stages
            1..k with their down-sampling; frozen parts stay in eval mode.
        norm_eval (bool): Keep every BN in eval mode while training.
        drop_path_rate (float): Stochastic depth in [0, 1), rising linearly
            over all blocks.
        with_cp (bool | Sequence[bool]): Recompute in backward instead of
            keeping activations (same outputs and gradients, less memory,
            more time): for every stage, or one flag per stage present
            (five, or four in the four-stage form). A stage's flag covers
            its down-sampling layer, and the first stage's the stem.
        channels_last (bool): Run in the channels-last memory format (same
            weights and outputs, faster convs on CPU). Defaults to True.
        out_norms (bool | Sequence[bool]): A norm on each output, or per
            output.
        head_dim (int): Channels per attention head. Defaults to 32.
        window_size (Sequence[int | None], optional): **Ours**: attention
            windows of stages 4 and 5 (None: global, the paper).
        global_blocks (Sequence[Sequence[int]]): With ``window_size``, the
            blocks of stages 4 and 5 that stay global.
        ds_ratios (Sequence[float]): Expansion of the four IRDS layers
            (**ours**). Defaults to ``(2, 2, 4, 4)``.
        norm_cfg (dict): The batch norm (BN, SyncBN, ...).
        act_cfg (dict): The activation. Defaults to GELU.
        init_cfg (dict | list[dict], optional): E.g. ``dict(type=
            'Pretrained', checkpoint=..., prefix='backbone.')``.
    """

    arch_zoo = {
        **dict.fromkeys(['t', 'tiny'], {
            'embed_dims': [16, 32, 64, 128, 256],
            'depths': [2, 2, 2, 2, 2],
            'mlp_ratios': [8, 8, 8, 4, 4],
        }),
        **dict.fromkeys(['s', 'small'], {
            'embed_dims': [32, 64, 128, 320, 448],
            'depths': [2, 6, 4, 9, 3],
            'mlp_ratios': [8, 8, 8, 4, 4],
        }),
        **dict.fromkeys(['b', 'base'], {
            'embed_dims': [32, 64, 128, 320, 512],
            'depths': [2, 6, 4, 18, 3],
            'mlp_ratios': [8, 8, 8, 4, 4],
        }),
        **dict.fromkeys(['l', 'large'], {
            'embed_dims': [48, 96, 192, 384, 512],
            'depths': [2, 6, 6, 27, 3],
            'mlp_ratios': [8, 8, 8, 4, 4],
        }),
    }  # yapf: disable
    arch_keys = frozenset({'embed_dims', 'depths', 'mlp_ratios'})

    def __init__(self,
                 arch: Union[str, Dict] = 's',
                 num_stages: int = NUM_STAGES,
                 in_channels: int = 3,
                 out_indices: Union[int, Sequence[int]] = (1, 2, 3, 4),
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 drop_path_rate: float = 0.,
                 with_cp: Union[bool, Sequence[bool]] = False,
                 channels_last: bool = True,
                 out_norms: Union[bool, Sequence[bool]] = True,
                 head_dim: int = 32,
                 window_size: Optional[Sequence[Optional[int]]] = None,
                 global_blocks: Sequence[Sequence[int]] = ((), ()),
                 ds_ratios: Sequence[float] = (2, 2, 4, 4),
                 norm_cfg: Dict = dict(type='BN'),
                 act_cfg: Dict = dict(type='GELU'),
                 init_cfg: Optional[Union[Dict, Sequence[Dict]]] = None):
        _check_layer_cfgs(norm_cfg, act_cfg, init_cfg)
        if init_cfg is None:
            init_cfg = list(deepcopy(DEFAULT_INIT_CFG))
        super().__init__(init_cfg=init_cfg)
        self.deploy = False  # switch_to_deploy() folds BN for inference
        if not is_int(head_dim) or head_dim < 1:
            raise ValueError(
                f'head_dim must be a positive int, got {head_dim!r}')
        self.arch_settings = self.parse_arch(arch)
        dims = self.arch_settings['embed_dims']
        depths = self.arch_settings['depths']
        ratios = self.arch_settings['mlp_ratios']
        for i in (3, 4):
            if dims[i] % head_dim:
                raise ValueError(
                    f'embed_dims[{i}]={dims[i]} must be divisible by '
                    f'head_dim={head_dim} (attention stages 4-5).')
        if not is_int(in_channels) or in_channels < 1:
            raise ValueError(
                f'in_channels must be a positive int, got {in_channels!r}')
        if not is_int(num_stages) or num_stages not in FORMS:
            raise ValueError(
                f'num_stages must be one of {FORMS} (5: the paper\'s '
                f'network; 4: its four-stage form for 224 inputs), got '
                f'{num_stages!r}')
        self.num_stages = num_stages
        # The first stage present: stage 1 (index 0) is absent with 4.
        first = NUM_STAGES - num_stages
        _check_positive(ds_ratios, NUM_STAGES - 1, 'ds_ratios',
                        'one per IRDS layer')
        check_drop_path_rate(drop_path_rate)
        self.in_channels = in_channels
        self.out_indices = parse_out_indices(
            out_indices, NUM_STAGES, first, owner='HIRI-ViT',
            note='stage 1, index 0, is absent in the four-stage form'
            if first else '')
        self.frozen_stages = check_frozen_stages(frozen_stages, NUM_STAGES)
        self.norm_eval = check_flag('norm_eval', norm_eval)
        self.with_cp = (False, ) * first + parse_flags(
            'with_cp', with_cp, num_stages)
        self.channels_last = check_flag('channels_last', channels_last)
        self.out_channels = tuple(dims[i] for i in self.out_indices)
        self.strides = tuple(STRIDES[i] >> first for i in self.out_indices)
        self.min_input_size = MIN_INPUT_SIZE >> first

        windows = self._parse_windows(window_size, global_blocks, depths)

        self.stem = HRStem(in_channels, dims[first], norm_cfg, act_cfg)
        # Blocks as built: the four-stage form has none in stage 1.
        depths = [depth if i >= first else 0 for i, depth in enumerate(depths)]
        # On the CPU so that the model can also be built on the meta device.
        dpr = torch.linspace(0, drop_path_rate, sum(depths),
                             device='cpu').tolist()
        self.downsamples = ModuleList()
        self.stages = ModuleList()
        for i in range(NUM_STAGES):
            if i <= first:
                self.downsamples.append(nn.Identity())
            elif i in BN_STAGES:
                self.downsamples.append(
                    IRDSa(dims[i - 1], dims[i], ds_ratios[i - 1], norm_cfg,
                          act_cfg))
            else:
                self.downsamples.append(
                    IRDSb(dims[i - 1], dims[i], ds_ratios[i - 1], act_cfg))
            block_dpr = dpr[sum(depths[:i]):sum(depths[:i + 1])]
            self.stages.append(
                Sequential(*[
                    self._make_block(i, dims[i], ratios[i], p, head_dim,
                                     norm_cfg, act_cfg, windows[i][j])
                    for j, p in enumerate(block_dpr)
                ]))

        if isinstance(out_norms, bool):
            out_norms = [out_norms] * len(self.out_indices)
        elif not isinstance(out_norms, Sequence) or len(out_norms) != len(
                self.out_indices) or not all(
                    isinstance(flag, bool) for flag in out_norms):
            raise ValueError(
                f'out_norms needs True/False or one flag per out_indices '
                f'entry ({len(self.out_indices)}), got {out_norms!r}')
        for i, with_norm in zip(self.out_indices, out_norms):
            if not with_norm:
                norm = nn.Identity()
            elif i in BN_STAGES:
                norm = build_norm_layer(norm_cfg, dims[i])[1]
            else:
                norm = LayerNorm2d(dims[i])
            self.add_module(f'norm{i}', norm)

        self._freeze_stages()
        if channels_last:
            self.to(memory_format=torch.channels_last)

    @staticmethod
    def _make_block(stage, dims, mlp_ratio, drop_path, head_dim, norm_cfg,
                    act_cfg, window):
        if stage in HR_STAGES:
            return HRBlock(dims, mlp_ratio, drop_path, norm_cfg, act_cfg)
        if stage == 2:
            return CFFNBlock(dims, mlp_ratio, drop_path, norm_cfg, act_cfg)
        return TransformerBlock(dims, dims // head_dim, mlp_ratio, drop_path,
                                norm_cfg, act_cfg, window_size=window)

    @staticmethod
    def _parse_windows(window_size, global_blocks, depths):
        """The attention window of every block of every stage (None:
        global), from ``window_size`` and ``global_blocks``."""
        attention = (3, 4)
        windows = [[None] * depth for depth in depths]
        if not isinstance(global_blocks, Sequence) or len(
                global_blocks) != len(attention) or not all(
                    isinstance(b, Sequence) and all(is_int(i) for i in b)
                    for b in global_blocks):
            raise ValueError(f'global_blocks must be two sequences of block '
                             f'indices (stage 4, stage 5), got '
                             f'{global_blocks!r}')
        if window_size is None:
            if any(global_blocks):
                raise ValueError(f'global_blocks={global_blocks!r} needs '
                                 f'window_size: without it every block is '
                                 f'global already')
            return windows
        if not isinstance(window_size, Sequence) or len(window_size) != len(
                attention) or not all(
                    w is None or (is_int(w) and w > 0) for w in window_size):
            raise ValueError(f'window_size must be None or two entries '
                             f'(stage 4, stage 5), each a positive int or '
                             f'None (global), got {window_size!r}')
        for stage, window, keep in zip(attention, window_size, global_blocks):
            depth = depths[stage]
            bad = [i for i in keep if not -depth <= i < depth]
            if bad:
                raise ValueError(
                    f'global_blocks {bad} out of range for stage '
                    f'{stage + 1}, which has {depth} blocks (allowed: '
                    f'{-depth}..{depth - 1})')
            keep = {i % depth for i in keep}
            windows[stage] = [None if i in keep else window
                              for i in range(depth)]
        return windows

    @classmethod
    def parse_arch(cls, arch):
        """The settings of ``arch`` (a name of :attr:`arch_zoo` or a custom
        dict, checked): a dict of ``embed_dims``, ``depths`` and
        ``mlp_ratios``, five values each."""
        if isinstance(arch, str):
            key = arch.lower()
            if key not in cls.arch_zoo:
                raise ValueError(f'Unknown arch {arch!r}; choose one of '
                                 f'{sorted(cls.arch_zoo)} or pass a dict.')
            return deepcopy(cls.arch_zoo[key])
        if not isinstance(arch, dict):
            raise TypeError(f'arch must be a str or a dict, got '
                            f'{type(arch).__name__}: {arch!r}')
        keys = set(arch)
        if keys != cls.arch_keys:
            raise ValueError(
                f'Custom arch must have exactly the keys '
                f'{sorted(cls.arch_keys)}; missing '
                f'{sorted(cls.arch_keys - keys)}, unexpected '
                f'{sorted(keys - cls.arch_keys)}.')
        for key in ('embed_dims', 'depths'):
            _check_positive(arch[key], NUM_STAGES, f'arch[{key!r}]',
                            'one per stage', integers=True)
        _check_positive(arch['mlp_ratios'], NUM_STAGES, "arch['mlp_ratios']",
                        'one per stage')
        for i in HR_STAGES:
            if arch['depths'][i] % 2:
                raise ValueError(
                    f"arch['depths'][{i}]={arch['depths'][i]} must be even: "
                    f'stage {i + 1} stacks HR-blocks in pairs (two per CFFN '
                    f'they replace, paper §5.4).')
        return {k: list(v) for k, v in arch.items()}

    def _frozen_modules(self):
        if self.frozen_stages >= 0:
            yield self.stem
        for i in range(self.frozen_stages):
            yield self.downsamples[i]
            yield self.stages[i]
            if i in self.out_indices:
                yield getattr(self, f'norm{i}')

    def get_layer_depth(self, param_name: str, prefix: str = ''):
        """The layer depth of a parameter, for layer-wise learning-rate decay
        (mmpretrain's ``LearningRateDecayOptimWrapperConstructor``, whose
        classifiers call it with ``prefix='backbone.'``).

        Every block is one layer, counted from the input: the HR-stem is
        layer 0, block ``j`` of a stage is the layer after all blocks of the
        earlier stages, and each IRDS layer shares the depth of the first
        block of the stage it leads into. The output norms, and every
        parameter outside the backbone (neck, head), are the last layer.

        Args:
            param_name (str): The parameter's name in the whole model.
            prefix (str): The backbone's prefix in that model.

        Returns:
            tuple[int, int]: ``(layer_depth, num_layers)``, with
            ``num_layers`` the number of blocks plus 2.
        """
        sizes = [len(stage) for stage in self.stages]
        num_layers = sum(sizes) + 2
        if not param_name.startswith(prefix):
            return num_layers - 1, num_layers
        parts = param_name[len(prefix):].split('.')
        if parts[0] == 'stem':
            return 0, num_layers
        if parts[0] in ('stages', 'downsamples'):
            stage = int(parts[1])
            block = int(parts[2]) if parts[0] == 'stages' else 0
            return 1 + sum(sizes[:stage]) + block, num_layers
        return num_layers - 1, num_layers

    def init_weights(self):
        """Initialise as ``init_cfg`` says; a ``Pretrained`` checkpoint loads
        safely (:func:`~mmhirivit.utils.checkpoint.mmengine_loading`), also
        when the model is built outside the tools."""
        with mmengine_loading():
            super().init_weights()

    def _freeze_stages(self):
        freeze(self._frozen_modules())

    def switch_to_deploy(self):
        """Fold every BN that can be folded into a conv, for inference
        ("BN can be merged into the convolution to accelerate inference",
        paper §4.4): the conv-BN pairs (stem, the HR-blocks' strided
        depthwise conv, IRDS-a), the stem's BN after its branch sum (into
        both branches' last convs) and the BN before every CFFN (into its
        first 1x1 conv). The outputs stay the same up to fp32 rounding. The
        HR-blocks' pre-norm BN feeds zero-padded 3x3 convs, whose border a
        fold would change, so it stays, as do the output norms.

        Call it with the weights loaded (the parameter names change). It
        folds the BN running statistics, the inference ones, and leaves the
        model in eval mode, which it cannot leave afterwards: a folded model
        does not train. (mmdeploy calls it before ``eval()``, as for
        mmpretrain's re-parameterised backbones.) Calling it again does
        nothing.

        Returns:
            HIRIViT: the model itself.
        """
        if self.deploy:
            return self
        self.eval()
        for module in [m for m in self.modules() if isinstance(
                m, (HRStem, CFFNBlock, TransformerBlock))]:
            module.switch_to_deploy()
        fuse_conv_bn(self)
        self.deploy = True
        return self

    def train(self, mode=True):
        if mode and self.deploy:
            raise RuntimeError('this HIRI-ViT was switched to deploy (BN '
                               'folded for inference) and cannot train; '
                               'build a new one to train')
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            batch_norms_eval(self)
        return self

    def _check_input(self, x):
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f'HIRI-ViT expects an (N, {self.in_channels}, H, W) tensor, '
                f'got shape {tuple(x.shape)}.')
        if min(x.shape[-2:]) < self.min_input_size:
            size = self.min_input_size
            raise ValueError(
                f'HIRI-ViT needs inputs of at least {size}x{size} (its '
                f'largest stride), got {tuple(x.shape[-2:])}.')

    def recomputed(self):
        """The modules recomputed in backward under ``with_cp`` (each keeps
        only its input): the stem with the first stage's flag, each
        flagged stage's down-sampling layer and blocks."""
        parts = [self.stem] if self.with_cp[NUM_STAGES -
                                            self.num_stages] else []
        for i in range(NUM_STAGES):
            if self.with_cp[i]:
                parts += [self.downsamples[i], *self.stages[i]]
        return parts

    def _run(self, module, x, stage):
        """``module(x)``, recomputed in backward if ``stage`` is."""
        if self.with_cp[stage] and needs_grad(module, x):
            return recompute(module, x)
        return module(x)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """Return the maps of ``out_indices`` as a tuple of NCHW tensors of
        sizes ``ceil(H / stride)`` x ``ceil(W / stride)``."""
        self._check_input(x)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        x = self._run(self.stem, x, NUM_STAGES - self.num_stages)
        outs = []
        for i in range(NUM_STAGES):
            x = self._run(self.downsamples[i], x, i)
            for block in self.stages[i]:
                x = self._run(block, x, i)
            if i in self.out_indices:
                outs.append(getattr(self, f'norm{i}')(x).contiguous())
        return tuple(outs)
