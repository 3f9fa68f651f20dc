"""What the backbones registered here share: the OpenMMLab arguments
(``out_indices``, ``frozen_stages``, ``drop_path_rate``, ``with_cp``,
``norm_eval``), each checked one way with the same messages, freezing,
recomputation and the DropPath layer.
"""
from contextlib import contextmanager, nullcontext
from functools import partial
from numbers import Integral, Real
from typing import Sequence

import torch
import torch.nn as nn
import torch.utils.checkpoint as cp
from mmcv.cnn.bricks import DropPath
from torch.nn.modules.batchnorm import _BatchNorm


def is_int(value):
    """An int that is not a bool."""
    return isinstance(value, Integral) and not isinstance(value, bool)


def check_flag(name, value):
    """Refuse anything but True or False for the flag ``name``."""
    if not isinstance(value, bool):
        raise TypeError(f'{name} must be True or False, got {value!r}')
    return value


def parse_flags(name, value, count, what='stage'):
    """``value`` (one bool, or one per ``what``) as ``count`` bools."""
    if isinstance(value, bool):
        return (value, ) * count
    if isinstance(value, Sequence) and not isinstance(value, str) and len(
            value) == count and all(isinstance(v, bool) for v in value):
        return tuple(value)
    raise TypeError(f'{name} must be True, False or {count} of them (one '
                    f'per {what}), got {value!r}')


def check_drop_path_rate(value):
    """Refuse a stochastic depth rate outside [0, 1)."""
    if not isinstance(value, Real) or isinstance(value, bool) or not (
            0 <= value < 1):
        raise ValueError(f'drop_path_rate must be a number in [0, 1), got '
                         f'{value!r}')
    return value


def check_frozen_stages(value, last):
    """Refuse ``frozen_stages`` outside -1..``last``."""
    if not is_int(value) or not -1 <= value <= last:
        raise ValueError(f'frozen_stages must be an int in -1..{last}, got '
                         f'{value!r}')
    return value


def parse_out_indices(out_indices, num_levels, first=0, owner='backbone',
                      note=''):
    """``out_indices`` (an int or a non-empty sequence of ints, negatives
    counting from the end) as sorted non-negative level indices.

    Args:
        num_levels (int): How levels are numbered: 0..num_levels-1.
        first (int): The first level present (the levels before it are
            absent, e.g. stage 1 of HIRI-ViT's four-stage form).
        owner (str): The backbone, as the message names it.
        note (str): What the levels are, or why some are absent, for the
            message.
    """
    if is_int(out_indices):
        out_indices = [out_indices]
    if not isinstance(out_indices, Sequence) or isinstance(
            out_indices, str) or not out_indices:
        raise TypeError(f'out_indices must be an int or a non-empty sequence '
                        f'of ints, got {out_indices!r}')
    parsed = []
    for index in out_indices:
        if not is_int(index):
            raise TypeError(f'out_indices entries must be ints, got '
                            f'{index!r} in {out_indices!r}')
        if not first - num_levels <= index < num_levels or (
                0 <= index < first):
            allowed = f'{-num_levels}..{num_levels - 1}' if not first else (
                f'{first - num_levels}..-1 and {first}..{num_levels - 1}')
            raise ValueError(
                f'out_indices entry {index!r} of {out_indices!r} is invalid: '
                f'this {owner} has '
                f'{num_levels - first} levels, allowed are {allowed}'
                f'{f" ({note})" if note else ""}.')
        parsed.append(index % num_levels)
    if len(set(parsed)) != len(parsed):
        raise ValueError(f'out_indices {out_indices!r} names a level twice.')
    return tuple(sorted(parsed))


def freeze(modules):
    """Put ``modules`` in eval mode and stop their parameters' gradients."""
    for module in modules:
        module.eval()
        for param in module.parameters():
            param.requires_grad = False


#: The backbones' initialisation without ``init_cfg``: Kaiming for convs,
#: truncated normal for linear layers, norms at weight 1 and bias 0.
DEFAULT_INIT_CFG = (
    dict(type='Kaiming', layer='Conv2d', mode='fan_out', nonlinearity='relu'),
    dict(type='TruncNormal', layer='Linear', std=.02, bias=0.),
    dict(type='Constant', layer=['_BatchNorm', 'LayerNorm'], val=1., bias=0.),
)


def batch_norms_eval(model):
    """Put every batch norm of ``model`` in eval mode (``norm_eval``)."""
    for m in model.modules():
        if isinstance(m, _BatchNorm):
            m.eval()


def needs_grad(module, x):
    """Whether running ``module`` on ``x`` builds a graph to recompute: grad
    mode on, and ``x`` or one of the module's parameters needing a gradient
    (behind frozen stages ``x`` needs none, the parameters still do)."""
    return torch.is_grad_enabled() and (x.requires_grad or any(
        p.requires_grad for p in module.parameters()))


@contextmanager
def _batch_norm_stats_kept(module):
    """Within the block, BN layers of ``module`` may update their running
    statistics; they are put back afterwards (a recomputation runs the
    forward a second time, which would update them twice)."""
    norms = [m for m in module.modules() if isinstance(m, _BatchNorm)
             and m.track_running_stats and m.training]
    saved = [[b.clone() for b in m.buffers()] for m in norms]
    try:
        yield
    finally:
        with torch.no_grad():
            for norm, buffers in zip(norms, saved):
                for buffer, value in zip(norm.buffers(), buffers):
                    buffer.copy_(value)


def _contexts(module):
    @contextmanager
    def recomputing():
        with _batch_norm_stats_kept(module):
            yield

    return nullcontext(), recomputing()


def drop_path_layer(rate):
    """DropPath with ``rate`` on a residual branch, or the identity at 0."""
    return DropPath(rate) if rate > 0 else nn.Identity()


def recompute(module, x):
    """``module(x)`` with its activations recomputed in backward instead of
    kept (torch's non-reentrant checkpointing): the same outputs and
    gradients, DropPath's random draws equal in both passes (torch restores
    the random state), BN running statistics updated once."""
    return cp.checkpoint(module, x, use_reentrant=False,
                         context_fn=partial(_contexts, module))
