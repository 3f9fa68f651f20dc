"""Checkpoints turned into files for others: ImageNet-pretraining checkpoints
to backbone weights for the detection and segmentation configs (their
``init_cfg=dict(type='Pretrained', prefix='backbone.')``), and any checkpoint
to a published file that torch's default loader reads."""
import hashlib
import io
import json
import os.path as osp
import re
from collections import OrderedDict

import torch

from mmhirivit.models import HIRIViT, HRViT
from mmhirivit.utils.checkpoint import (CheckpointError, load_checkpoint_bytes,
                                        read_checkpoint_bytes)
from mmhirivit.utils.files import check_output, write_atomically
from mmhirivit.version import __version__


class ConversionError(ValueError):
    """A checkpoint, arch or destination the conversion cannot use; the
    message says which and why."""


WEIGHTS = ('ema', 'raw')
# Classifier parts that are not the backbone; dropped and listed.
CLASSIFIER_PREFIXES = ('head.', 'neck.', 'data_preprocessor.')
# Where DeiT/timm training scripts keep the raw and the EMA weights.
TIMM_RAW_KEYS = ('model', )
TIMM_EMA_KEYS = ('model_ema', 'state_dict_ema')


def _load(src, trust=False):
    """``(checkpoint, sha256)`` of ``src``, reading the file once; safely
    unless ``trust`` (see :func:`load_checkpoint_bytes`)."""
    data = read_checkpoint_bytes(src)
    checkpoint = load_checkpoint_bytes(data, src, trust=trust)
    return checkpoint, hashlib.sha256(data).hexdigest()


def _is_state_dict(value):
    return isinstance(value, dict) and bool(value) and all(
        isinstance(v, torch.Tensor) for v in value.values())


def select_weights(checkpoint, weights=None):
    """The state dict to convert and what it is.

    Args:
        checkpoint (dict): A loaded checkpoint: MMEngine's (``state_dict``,
            with ``ema_state_dict`` when trained with ``EMAHook``), DeiT/timm's
            (``model`` / ``model_ema`` / ``state_dict_ema``) or a bare state
            dict.
        weights (str, optional): ``'ema'`` or ``'raw'``; None takes the EMA
            weights when the checkpoint has them, else the raw ones.

    Returns:
        tuple: ``(state_dict, weights, entry)``: the weights chosen
        (``'ema'``, ``'raw'`` or ``'as stored'`` for a bare state dict) and
        the checkpoint entry they came from.
    """
    if weights is not None and weights not in WEIGHTS:
        raise ConversionError(
            f'weights must be one of {WEIGHTS}, got {weights!r}')
    if isinstance(checkpoint.get('state_dict'), dict):
        # MMEngine's EMAHook swaps on saving: state_dict holds the EMA
        # weights, ema_state_dict the raw ones under 'module.'.
        has_ema = 'ema_state_dict' in checkpoint
        if weights == 'ema' and not has_ema:
            raise ConversionError('has no EMA weights (trained without '
                                  'EMAHook); use --weights raw')
        if weights == 'raw' and has_ema:
            raw = {
                k[len('module.'):]: v
                for k, v in checkpoint['ema_state_dict'].items()
                if k.startswith('module.')
            }
            return raw, 'raw', 'ema_state_dict'
        return checkpoint['state_dict'], 'ema' if has_ema else 'raw', \
            'state_dict'
    ema_key = next((k for k in TIMM_EMA_KEYS if k in checkpoint), None)
    raw_key = next((k for k in TIMM_RAW_KEYS if k in checkpoint), None)
    if ema_key or raw_key:
        want_ema = weights == 'ema' or (weights is None and ema_key)
        key = ema_key if want_ema else raw_key
        if key is None:
            raise ConversionError(
                f'has no {"EMA" if want_ema else "raw"} '
                f'weights; its entries are {sorted(checkpoint)}')
        return checkpoint[key], 'ema' if want_ema else 'raw', key
    if _is_state_dict(checkpoint):
        if weights is not None:
            raise ConversionError(
                f'is a bare state dict that does not say '
                f'whether it holds EMA weights; drop --weights {weights}')
        return checkpoint, 'as stored', '(top level)'
    keys = ', '.join(TIMM_RAW_KEYS + TIMM_EMA_KEYS)
    raise ConversionError(f'no weights found: entries {sorted(checkpoint)}, '
                          f'none of state_dict, {keys}')


def split_backbone(state_dict):
    """``(backbone, dropped)``: the backbone's tensors under its own names,
    and the keys left out.

    ``module.`` (DDP) prefixes are removed. With ``backbone.`` keys (a
    classifier), those are the backbone and the rest is dropped; without,
    the whole dict is taken as a backbone.
    """
    state_dict = OrderedDict(
        (k[len('module.'):] if k.startswith('module.') else k, v)
        for k, v in state_dict.items())
    if not any(k.startswith('backbone.') for k in state_dict):
        return state_dict, []
    backbone = OrderedDict((k[len('backbone.'):], v)
                           for k, v in state_dict.items()
                           if k.startswith('backbone.'))
    dropped = [k for k in state_dict if not k.startswith('backbone.')]
    return backbone, dropped


# HighResFront's parts (mmhirivit.models.backbones.high_res_front): its
# weights are taken as they are, since the wrapped backbone is known only to
# the config that builds it.
FRONT = 'HighResFront'
FRONT_PARTS = ('stem.', 'stage.', 'downsample.', 'body.')


def is_high_res_front(backbone):
    """Whether ``backbone`` holds HighResFront weights: its four parts and
    nothing else."""
    return all(any(k.startswith(p) for k in backbone) for p in FRONT_PARTS) \
        and all(k.startswith(FRONT_PARTS) for k in backbone)


def _out_indices(backbone):
    """The stages whose output norms the weights carry."""
    found = sorted({
        int(m.group(1))
        for m in (re.match(r'norm(\d+)\.', k) for k in backbone) if m
    })
    return tuple(found) or (4, )


def _num_stages(backbone):
    """5, or 4 for weights of the four-stage form (no stage-1 blocks)."""
    return 5 if any(k.startswith('stages.0.') for k in backbone) else 4


def family(backbone):
    """``'HRViT'`` for HRViT weights (its six ``units``), else
    ``'HIRI-ViT'``."""
    return 'HRViT' if any(k.startswith('units.') for k in backbone) else \
        'HIRI-ViT'


def _build(arch, backbone, device=None):
    """The backbone of ``arch`` in the form and with the output norms the
    weights ``backbone`` have."""
    with torch.device(device or 'cpu'):
        if family(backbone) == 'HRViT':
            return HRViT(arch=arch)
        return HIRIViT(arch=arch, num_stages=_num_stages(backbone),
                       out_indices=_out_indices(backbone))


def detect_arch(backbone):
    """The ``arch_zoo`` name whose tensors have exactly the shapes of
    ``backbone``, or a :class:`ConversionError` naming the closest."""
    shapes = {k: tuple(v.shape) for k, v in backbone.items()}
    kind = family(backbone)
    names = sorted(HRViT.arch_zoo) if kind == 'HRViT' else sorted(
        set(HIRIViT.arch_zoo) & {'t', 's', 'b', 'l'})
    misses = {}
    for name in names:
        expected = {
            k: tuple(v.shape)
            for k, v in _build(name, backbone, 'meta').state_dict().items()
        }
        differ = sorted(k for k in expected.keys() | shapes.keys()
                        if expected.get(k) != shapes.get(k))
        if not differ:
            return name
        misses[name] = differ
    if not any(k.startswith('stem.') for k in shapes):
        raise ConversionError('does not hold HIRI-ViT or HRViT weights (no '
                              'stem.* tensors, neither bare nor under '
                              'backbone.)')
    closest = min(names, key=lambda n: len(misses[n]))
    raise ConversionError(
        f'the tensors match no {kind} arch of {names}: closest is '
        f'{closest!r} with {len(misses[closest])} tensors differing (e.g. '
        f'{misses[closest][0]}); pass --arch for a custom arch')


def load_strictly(backbone, arch):
    """Build the backbone of ``arch`` and load ``backbone`` strictly."""
    model = _build(arch, backbone)
    expected = model.state_dict()
    missing = [k for k in expected if k not in backbone]
    unexpected = [k for k in backbone if k not in expected]
    wrong_shape = [
        k for k, v in backbone.items()
        if k in expected and v.shape != expected[k].shape
    ]
    if missing or unexpected or wrong_shape:
        raise ConversionError(
            f'the weights do not fit {family(backbone)} arch {arch!r}: '
            f'missing '
            f'{missing[:5]}, unexpected {unexpected[:5]}, wrong shape '
            f'{wrong_shape[:5]}')
    model.load_state_dict(backbone, strict=True)
    return model


def _arch_argument(arch):
    """``--arch``: an arch_zoo name, or a JSON dict for a custom arch."""
    if arch is None or not arch.lstrip().startswith('{'):
        return arch
    try:
        return json.loads(arch)
    except json.JSONDecodeError as err:
        raise ConversionError(f'--arch {arch!r} is not valid JSON: {err}')


def _check_destination(src, dst, force):
    """Refuse to write over ``src``, over an existing ``dst`` or a symlink
    there without ``force``, and through a symlink at all."""
    if osp.exists(dst) and osp.exists(src) and osp.samefile(src, dst):
        raise ConversionError(f'{dst} is the source checkpoint; choose '
                              f'another destination')
    check_output(dst, force)


def _serialize(obj):
    """What ``torch.save`` writes for ``obj``."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def _write(data, dst):
    try:
        write_atomically(data, dst)
    except OSError as err:
        where = f' ({err.filename})' if err.filename else ''
        raise ConversionError(f'cannot write {dst}: {err.strerror or err}'
                              f'{where}; nothing was written') from None


def convert_to_backbone(src, dst, arch=None, weights=None, force=False,
                        trust=False):
    """Write the backbone weights (HIRI-ViT, HRViT or HighResFront) of
    checkpoint ``src`` to ``dst``.

    Args:
        src (str): An ImageNet-pretraining checkpoint (see
            :func:`select_weights`).
        dst (str): Where to write ``{'state_dict': {'backbone.*': ...},
            'meta': {...}}``.
        arch (str, optional): An ``arch_zoo`` name or a JSON dict; detected
            from the tensor shapes when None.
        weights (str, optional): ``'ema'`` or ``'raw'`` (see
            :func:`select_weights`).
        force (bool): Overwrite an existing ``dst`` (never ``src``).
        trust (bool): Load ``src`` with the full unpickler, which runs
            whatever it asks for; by default it is loaded safely and refused
            (:class:`~mmhirivit.utils.checkpoint.UnsafeCheckpointError`) if it
            needs more.

    Returns:
        tuple: ``(meta, dropped)``: the written ``meta`` and the source keys
        that are not backbone weights.
    """
    src, dst = osp.expanduser(src), osp.expanduser(dst)
    _check_destination(src, dst, force)
    arch = _arch_argument(arch)
    try:
        checkpoint, sha256 = _load(src, trust)
        state_dict, used, entry = select_weights(checkpoint, weights)
        backbone, dropped = split_backbone(state_dict)
        if is_high_res_front(backbone):
            if arch is not None:
                raise ConversionError(
                    f'holds HighResFront weights; --arch {arch!r} is for '
                    f'HIRI-ViT and HRViT weights only')
            arch, form, weights_out = FRONT, {}, backbone
        else:
            if arch is None:
                arch = detect_arch(backbone)
            model = load_strictly(backbone, arch)
            form = dict(num_stages=model.num_stages,
                        out_indices=list(model.out_indices)) if isinstance(
                            model, HIRIViT) else {}
            weights_out = model.state_dict()
    except ConversionError as err:
        raise ConversionError(f'{src}: {err}')
    except CheckpointError:  # names the file and what is wrong with it
        raise
    except (ValueError, TypeError) as err:  # a bad --arch
        raise ConversionError(f'--arch: {err}')
    meta = dict(
        source=osp.abspath(src),
        source_sha256=sha256,
        source_entry=entry,
        weights=used,
        backbone=FRONT if arch == FRONT else family(backbone),
        arch=arch,
        **form,
        converter=f'mmhirivit {__version__} tools/model_converters/'
        f'hirivit_to_backbone.py')
    _write(
        _serialize(
            dict(meta=meta,
                 state_dict=OrderedDict(
                     ('backbone.' + k, v)
                     for k, v in weights_out.items()))), dst)
    return meta, dropped


# What torch's default loader (weights_only=True, nothing allow-listed)
# reads besides tensors.
PLAIN_TYPES = (str, int, float, bool, type(None))


# What plain_metadata keeps of a value it leaves out whole.
LEFT_OUT = object()


def plain_metadata(value, name='meta'):
    """``(kept, dropped)``: ``value`` with every entry that is not plain data
    (strings, numbers, booleans, None, and lists, tuples and string-keyed
    dicts of them) left out, and the names of the entries left out. ``kept``
    is :data:`LEFT_OUT` when ``value`` itself is left out."""
    if isinstance(value, PLAIN_TYPES):
        return value, []
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        kept, dropped = {}, []
        for key, item in value.items():
            plain, lost = plain_metadata(item, f'{name}.{key}')
            dropped += lost
            if plain is not LEFT_OUT:
                kept[key] = plain
        return kept, dropped
    if isinstance(value, (list, tuple)):
        items = [plain_metadata(item) for item in value]
        if not any(lost for _, lost in items):
            return type(value)(plain for plain, _ in items), []
    return LEFT_OUT, [name]


def published_name(dst, sha256):
    """``dst`` with the first 8 hex digits of the file's SHA-256 before its
    extension, as OpenMMLab names published checkpoints."""
    root, ext = osp.splitext(dst)
    return f'{root}-{sha256[:8]}{ext or ".pth"}'


def publish_checkpoint(src, dst, weights=None, force=False, trust=False):
    """Write ``src``'s weights and plain metadata to ``dst``, hash in the
    name, for torch's default loader and so for the stock OpenMMLab tools.

    MMEngine's checkpoints also hold the optimizer, the schedulers and the
    message hub, whose objects torch's ``weights_only`` loader refuses; the
    published file holds only ``state_dict`` (tensors) and ``meta`` (plain
    data, the config text left out), and it is read back with
    ``torch.load(weights_only=True)`` before it is named.

    Args:
        src (str): A checkpoint (see :func:`select_weights`).
        dst (str): The output path; the file is written to
            :func:`published_name` of it.
        weights (str, optional): ``'ema'`` or ``'raw'`` (see
            :func:`select_weights`).
        force (bool): Overwrite an existing file of that name (never
            ``src``).
        trust (bool): Load ``src`` with the full unpickler (see
            :func:`convert_to_backbone`).

    Returns:
        tuple: ``(path, meta, dropped)``: the file written, its ``meta`` and
        the entries of ``src`` left out.
    """
    src, dst = osp.expanduser(src), osp.expanduser(dst)
    try:
        checkpoint, sha256 = _load(src, trust)
        state_dict, used, entry = select_weights(checkpoint, weights)
    except ConversionError as err:
        raise ConversionError(f'{src}: {err}')
    source_meta = checkpoint.get('meta')
    meta, dropped = plain_metadata(
        source_meta if isinstance(source_meta, dict) else {})
    meta['published'] = dict(source=osp.basename(src), source_sha256=sha256,
                             source_entry=entry, weights=used,
                             tool=f'mmhirivit {__version__} tools/'
                             f'model_converters/publish_model.py')
    if state_dict is not checkpoint:  # a bare state dict has no other parts
        dropped += [k for k in checkpoint if k not in ('meta', entry)]
    bad = [k for k, v in state_dict.items() if not torch.is_tensor(v)]
    if bad:
        raise ConversionError(f'{src}: {entry} holds entries that are not '
                              f'tensors: {", ".join(map(str, bad))}')
    data = _serialize(dict(meta=meta, state_dict=OrderedDict(
        (k, v.detach().cpu()) for k, v in state_dict.items())))
    # The promise, checked with torch's own loader and nothing allowed.
    torch.serialization.load(io.BytesIO(data), map_location='cpu',
                             weights_only=True)
    path = published_name(dst, hashlib.sha256(data).hexdigest())
    _check_destination(src, path, force)
    _write(data, path)
    return path, meta, dropped
