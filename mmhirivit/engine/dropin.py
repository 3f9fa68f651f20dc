"""Checks for HIRI-ViT (or HRViT) dropped into a stock mmdet, mmseg or
mmpretrain config.

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

from mmhirivit.models import HIRIViT, HRViT

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


#: The backbones the checks know, by class name, and how messages name them.
CHECKED = {'HIRIViT': (HIRIViT, 'HIRI-ViT'), 'HRViT': (HRViT, 'HRViT')}


def checked_class(backbone):
    """``(class, name)`` of the backbone config ``backbone`` if the checks
    know it, else None."""
    kind = backbone.get('type') if backbone else None
    if isinstance(kind, type):
        kind = kind.__name__
    return CHECKED.get(kind.split('.')[-1]) if isinstance(kind, str) else None


def is_hirivit(backbone):
    return checked_class(backbone) is not None and \
        checked_class(backbone)[0] is HIRIViT


def _listed(value):
    return list(value) if isinstance(value, (list, tuple)) else value


def _build_meta(backbone):
    """The backbone built on the meta device from ``backbone``, which checks
    every argument without allocating weights."""
    cls, name = checked_class(backbone)
    kwargs = {k: v for k, v in backbone.items() if k != 'type'}
    allowed = set(inspect.signature(cls).parameters)
    unknown = [k for k in kwargs if k not in allowed]
    if unknown:
        settings = ', '.join(f'{k}={kwargs[k]!r}' for k in unknown)
        raise ValueError(
            f'model.backbone has settings {name} does not take: {settings} '
            f'(left from the backbone it replaces); start the backbone afresh '
            f'with --cfg-options {SWAP_HINT} (model.backbone._delete_=True '
            f'drops the old settings)')
    try:
        with torch.device('meta'):
            return cls(**kwargs)
    except (TypeError, ValueError) as err:
        raise ValueError(f'model.backbone: {err}') from None


def _check_width(name, value, want, warnings, who):
    if value is not None and _listed(value) != want:
        warnings.append(
            f'{name}={_listed(value)} does not match the {who} outputs it '
            f'reads ({want} channels); write {name}='
            f'{str(want).replace(" ", "")}')


# mmpretrain's heads that take one vector per image: after a backbone that
# returns maps they need a pooling neck (ConvNeXt's recipes have none, as
# ConvNeXt pools inside its backbone).
VECTOR_HEADS = ('LinearClsHead', 'StackedLinearClsHead',
                'MultiLabelLinearClsHead', 'VisionTransformerClsHead',
                'DeiTClsHead', 'EfficientFormerClsHead')


def _check_pooling(cfg, model, who):
    """Raise ValueError for an mmpretrain classifier without a neck whose
    head takes vectors: the backbone returns maps."""
    head = model.get('head') or {}
    kind = str(head.get('type', '')).split('.')[-1]
    if cfg.get('default_scope') == 'mmpretrain' and 'head' in model and \
            model.get('neck') is None and kind in VECTOR_HEADS:
        raise ValueError(
            f'model.neck is None, and {kind} takes one vector per image while '
            f'{who} returns maps (the recipe\'s backbone pooled inside); '
            f"add the pooling neck with model.neck=dict(type="
            f"'GlobalAveragePooling') (--cfg-options "
            f'model.neck.type=GlobalAveragePooling)')


def _first_neck(model):
    """The neck that reads the backbone's outputs (the first of a list of
    necks, as mmpretrain's HRNet configs chain them)."""
    neck = model.get('neck')
    if isinstance(neck, (list, tuple)):
        return neck[0] if neck else None
    return neck


def _check_heads(model, channels, warnings, who):
    """Widths of what reads the backbone's outputs directly: the neck, else
    the decode/auxiliary heads (mmseg) or the classification head
    (mmpretrain, after a pooling neck)."""
    neck = _first_neck(model)
    if neck and 'in_channels' in neck:
        value = neck.in_channels
        want = channels if isinstance(value, (list, tuple)) else channels[-1]
        _check_width('model.neck.in_channels', value, want, warnings, who)
        return
    if neck is not None and 'head' in model:  # a pooling neck (mmpretrain)
        _check_width('model.head.in_channels',
                     model.head.get('in_channels'), channels[-1], warnings,
                     who)
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
                    f'the {len(channels)} {who} outputs '
                    f'(model.backbone.out_indices)')
                continue
            _check_width(f'{name}.in_channels', head.get('in_channels'),
                         want, warnings, who)
            if 'c1_in_channels' in head:  # DeepLabV3+ reads inputs[0]
                _check_width(f'{name}.c1_in_channels', head.c1_in_channels,
                             channels[0], warnings, who)


def _level_strides(model, strides):
    """The strides of the feature levels the detector's heads read."""
    neck = _first_neck(model) or {}
    if not isinstance(neck.get('in_channels'), (list, tuple)):
        return [strides[-1]]
    levels = list(strides[neck.get('start_level', 0):])
    while len(levels) < neck.get('num_outs', len(levels)):
        levels.append(levels[-1] * 2)  # the neck's extra levels
    return levels


def _check_strides(model, backbone, warnings, who):
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
                f'levels {who} gives (out_indices '
                f'{list(backbone.out_indices)}: {levels[:len(value)]}); '
                f'write {name}={str(levels[:len(value)]).replace(" ", "")}, '
                f'or model.backbone.out_indices=[0,1,2,3] for the usual '
                f'strides 4-32')


def check_backbone(cfg):
    """Check the settings of ``cfg`` around its HIRI-ViT or HRViT backbone.

    Raises ``ValueError`` for the first setting the builder would refuse
    anyway, and returns one warning line for each width or stride that does
    not match what the backbone gives. Configs with another backbone, or with
    ``dropin_check = False``, give nothing.

    Returns:
        list[str]: The warnings.
    """
    model = cfg.get('model') or {}
    backbone = model.get('backbone')
    if checked_class(backbone) is None or cfg.get('dropin_check',
                                                  True) is False:
        return []
    who = checked_class(backbone)[1]
    # mmseg's segmentors hand model.pretrained to the backbone.
    if cfg.get('default_scope') == 'mmseg' and model.get(
            'pretrained') is not None:
        raise ValueError(
            f'model.pretrained={model.pretrained!r} is handed to the backbone '
            f'as `pretrained`, which {who} does not take (it is weights '
            f'for the backbone it replaces); write model.pretrained=None, '
            f'and load {who} weights with model.backbone.init_cfg')
    meta = _build_meta(backbone)
    _check_pooling(cfg, model, who)
    warnings = []
    _check_heads(model, list(meta.out_channels), warnings, who)
    _check_strides(model, meta, warnings, who)
    return warnings
