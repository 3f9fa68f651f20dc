"""Checks for HIRI-ViT dropped into a stock mmdet, mmseg or mmpretrain config.

A stock config carries settings meant for the backbone HIRI-ViT replaces: its
constructor arguments, mmseg's ``model.pretrained``, neck and head widths,
and the feature strides of anchors and RoI extractors. Left as they are they
end in a ``TypeError`` or a shape mismatch deep inside a builder, or worse,
train silently with anchors at the wrong scale. :func:`check_backbone` finds
them before anything is built and names each setting and what to write
instead. What the builder would refuse anyway (arguments HIRI-ViT does not
take, mmseg's ``model.pretrained``) raises a ``ValueError`` (the tools print
it as one line); widths and strides, which a neck or head this module does
not know may read differently, come back as warnings, one line each. A
config with ``dropin_check = False`` is not checked.
"""
import inspect

import torch

from mmhirivit.models import HIRIViT

SWAP_HINT = ('model.backbone._delete_=True model.backbone.type='
             'mmhirivit.HIRIViT model.backbone.arch=s')
# Where mmdet heads keep the strides of the feature levels they read.
STRIDE_KEYS = (
    ('rpn_head', 'anchor_generator', 'strides'),
    ('bbox_head', 'anchor_generator', 'strides'),
    ('bbox_head', 'prior_generator', 'strides'),
    ('bbox_head', 'strides'),
    ('roi_head', 'bbox_roi_extractor', 'featmap_strides'),
    ('roi_head', 'mask_roi_extractor', 'featmap_strides'),
)


def is_hirivit(backbone):
    kind = backbone.get('type') if backbone else None
    return kind is HIRIViT or (isinstance(kind, str) and kind.split('.')[-1]
                               == HIRIViT.__name__)


def _listed(value):
    return list(value) if isinstance(value, (list, tuple)) else value


def _build_meta(backbone):
    """HIRI-ViT built on the meta device from ``backbone``, which checks every
    argument without allocating weights."""
    kwargs = {k: v for k, v in backbone.items() if k != 'type'}
    allowed = set(inspect.signature(HIRIViT).parameters)
    unknown = [k for k in kwargs if k not in allowed]
    if unknown:
        settings = ', '.join(f'{k}={kwargs[k]!r}' for k in unknown)
        raise ValueError(
            f'model.backbone has settings HIRI-ViT does not take: {settings} '
            f'(left from the backbone it replaces); start the backbone afresh '
            f'with --cfg-options {SWAP_HINT} (model.backbone._delete_=True '
            f'drops the old settings)')
    try:
        with torch.device('meta'):
            return HIRIViT(**kwargs)
    except (TypeError, ValueError) as err:
        raise ValueError(f'model.backbone: {err}') from None


def _check_width(name, value, want, warnings):
    if value is not None and _listed(value) != want:
        warnings.append(
            f'{name}={_listed(value)} does not match the HIRI-ViT outputs it '
            f'reads ({want} channels); write {name}='
            f'{str(want).replace(" ", "")}')


def _check_heads(model, channels, warnings):
    """Widths of what reads the backbone's outputs directly: the neck, else
    the decode/auxiliary heads (mmseg) or the classification head
    (mmpretrain, after a pooling neck)."""
    neck = model.get('neck')
    if neck and 'in_channels' in neck:
        value = neck.in_channels
        want = channels if isinstance(value, (list, tuple)) else channels[-1]
        _check_width('model.neck.in_channels', value, want, warnings)
        return
    if neck is not None and 'head' in model:  # a pooling neck (mmpretrain)
        _check_width('model.head.in_channels',
                     model.head.get('in_channels'), channels[-1], warnings)
        return
    for key in ('decode_head', 'auxiliary_head'):
        heads = model.get(key) or []
        heads = heads if isinstance(heads, (list, tuple)) else [heads]
        for i, head in enumerate(heads):
            name = f'model.{key}' + (f'.{i}' if len(heads) > 1 else '')
            index = head.get('in_index', -1)
            try:
                want = ([channels[j] for j in index] if isinstance(
                    index, (list, tuple)) else channels[index])
            except (IndexError, TypeError):
                warnings.append(
                    f'{name}.in_index={_listed(index)} is out of range for '
                    f'the {len(channels)} HIRI-ViT outputs '
                    f'(model.backbone.out_indices)')
                continue
            _check_width(f'{name}.in_channels', head.get('in_channels'),
                         want, warnings)
            if 'c1_in_channels' in head:  # DeepLabV3+ reads inputs[0]
                _check_width(f'{name}.c1_in_channels', head.c1_in_channels,
                             channels[0], warnings)


def _level_strides(model, strides):
    """The strides of the feature levels the detector's heads read."""
    neck = model.get('neck') or {}
    if not isinstance(neck.get('in_channels'), (list, tuple)):
        return [strides[-1]]
    levels = list(strides[neck.get('start_level', 0):])
    while len(levels) < neck.get('num_outs', len(levels)):
        levels.append(levels[-1] * 2)  # the neck's extra levels
    return levels


def _check_strides(model, backbone, warnings):
    levels = _level_strides(model, list(backbone.strides))
    for keys in STRIDE_KEYS:
        value = model
        for key in keys:
            value = value.get(key) if hasattr(value, 'get') else None
        if not isinstance(value, (list, tuple)):
            continue
        if list(value) != levels[:len(value)]:
            name = 'model.' + '.'.join(keys)
            warnings.append(
                f'{name}={list(value)} does not match the strides of the '
                f'levels HIRI-ViT gives (out_indices '
                f'{list(backbone.out_indices)}: {levels[:len(value)]}); '
                f'write {name}={str(levels[:len(value)]).replace(" ", "")}, '
                f'or model.backbone.out_indices=[0,1,2,3] for the usual '
                f'strides 4-32')


def check_backbone(cfg):
    """Check the settings of ``cfg`` around its HIRI-ViT backbone.

    Raises ``ValueError`` for the first setting the builder would refuse
    anyway, and returns one warning line for each width or stride that does
    not match what HIRI-ViT gives. Configs with another backbone, or with
    ``dropin_check = False``, give nothing.

    Returns:
        list[str]: The warnings.
    """
    model = cfg.get('model') or {}
    backbone = model.get('backbone')
    if not is_hirivit(backbone) or cfg.get('dropin_check', True) is False:
        return []
    # mmseg's segmentors hand model.pretrained to the backbone.
    if cfg.get('default_scope') == 'mmseg' and model.get(
            'pretrained') is not None:
        raise ValueError(
            f'model.pretrained={model.pretrained!r} is handed to the backbone '
            f'as `pretrained`, which HIRI-ViT does not take (it is weights '
            f'for the backbone it replaces); write model.pretrained=None, '
            f'and load HIRI-ViT weights with model.backbone.init_cfg')
    meta = _build_meta(backbone)
    warnings = []
    _check_heads(model, list(meta.out_channels), warnings)
    _check_strides(model, meta, warnings)
    return warnings
