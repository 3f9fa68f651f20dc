"""Safe checkpoint loading: a checkpoint is data, and nothing in it runs.

Every checkpoint loads through :func:`load_checkpoint_file`: torch's
``weights_only`` unpickler, with exactly the types MMEngine 0.10.7 stores in
its own checkpoints allowed besides tensors (:data:`SAFE_GLOBALS`), after a
check that every numpy dtype and array in the file is in the form numpy
itself writes for numeric data (:data:`CHECK_GLOBALS`). The config text
MMEngine stores in a checkpoint (``meta['cfg']``, ``meta['config']``, the
message hub's ``cfg``) is removed unread: MMEngine would turn it back into a
config by executing it. Trusting a file beyond that is an explicit choice
(``trust=True``; the tools' ``--trust-checkpoint``).

Inside :func:`mmengine_loading` MMEngine's local loader and ``torch.load``
itself lead to :func:`load_checkpoint_file`, so every scheme (a path, ``~``,
``http(s)://``, ``torchvision://``, ``open-mmlab://``, ``mmcls://``, ...) and
every caller (resume, ``load_from``, ``init_cfg=dict(type='Pretrained')``,
the inferencers, ``torch.hub``'s cache) loads safely::

    from mmhirivit.utils.checkpoint import mmengine_loading
    with mmengine_loading():
        inferencer = DetInferencer(model=CONFIG, weights=CHECKPOINT)

Outside it nothing changes: importing :mod:`mmhirivit` sets no global.
"""
import math
import os
import os.path as osp
import pickle
import zipfile
from contextlib import contextmanager

import numpy as np
import torch
from mmengine.logging import HistoryBuffer, print_log
from mmengine.runner.checkpoint import CheckpointLoader

# The real torch.load, whatever mmengine_loading does to the name.
_torch_load = torch.serialization.load


class CheckpointError(ValueError):
    """A file that cannot be loaded as a checkpoint; nothing in it was run.

    The message names the file and what is wrong with it.
    """

    verb = 'cannot load'

    def __init__(self, path, reason):
        self.path, self.reason = path, reason
        super().__init__(f'{self.verb} checkpoint {path}: {reason}')


class UnsafeCheckpointError(CheckpointError, pickle.UnpicklingError):
    """A checkpoint that needs more than safe loading allows; nothing in it
    was run."""

    verb = 'refusing to load'

    def __init__(self, path, names):
        self.names = names
        super().__init__(
            path, f'it needs {", ".join(names)}, which safe loading does not '
            f'allow (nothing in it was run); if you trust this file, pass '
            f'--trust-checkpoint (or trust=True)')


class _NotData(Exception):
    """Raised while checking numpy content that numpy does not write for
    numeric data. Not an ``UnpicklingError``, which torch.load rewrites."""


# The statistics methods every HistoryBuffer registers.
HISTORY_STATISTICS = ('min', 'max', 'current', 'mean')


def _statistics_method(owner, name):
    """``getattr`` as MMEngine's pickled ``HistoryBuffer`` uses it, to store
    its statistics methods (``getattr(HistoryBuffer, 'mean')``), and for
    nothing else."""
    if owner is not HistoryBuffer or name not in HISTORY_STATISTICS:
        raise _NotData(f'getattr({owner!r}, {name!r}) (only HistoryBuffer '
                       f'statistics methods may be named)')
    return getattr(owner, name)


# numpy 2 (requirements/runtime.txt) pickles from numpy._core; files written
# with numpy 1 name numpy.core.
_multiarray = np._core.multiarray
NUMPY_MODULES = ('numpy._core.multiarray', 'numpy.core.multiarray')
NUMERIC_KINDS = 'biufc'  # bool, signed, unsigned, float, complex


def _numeric_dtype(spec):
    """``np.dtype(spec)`` if ``spec`` is how numpy names a numeric dtype in
    its pickles (``'f8'``, ``'i8'``, ``'b1'``, ...), else raise."""
    if isinstance(spec, str):
        try:
            dtype = np.dtype(spec)
        except TypeError:
            dtype = None
        if dtype is not None and dtype.kind in NUMERIC_KINDS and \
                dtype.str[1:] == spec:
            return dtype
    raise _NotData(f'numpy dtype {spec!r} (only numeric dtypes are data)')


class _DtypeCheck:
    """Stands for ``numpy.dtype`` while a file's numpy content is checked:
    the arguments and the state must be those numpy writes for a numeric
    dtype. Any other state (an object flag, fields) could make numpy read
    raw bytes as object pointers."""

    def __init__(self, spec, align=False, copy=True):
        if align is not False or copy is not True:
            raise _NotData(f'numpy dtype arguments {(spec, align, copy)!r}')
        self.dtype = _numeric_dtype(spec)

    def __setstate__(self, state):
        forms = [d.__reduce__()[2]
                 for d in (self.dtype, self.dtype.newbyteorder())]
        if state not in forms:
            raise _NotData(f'numpy dtype state {state!r} for {self.dtype} '
                           f'(numpy writes {forms[0]!r})')


class _NdarrayName:
    """Stands for ``numpy.ndarray``, which numpy names only as the array type
    it passes to ``_reconstruct``; calling it is refused."""

    def __new__(cls, *args):
        raise _NotData('a call of numpy.ndarray')


class _ArrayCheck:
    """Stands for ``_reconstruct(numpy.ndarray, (0,), b'b')``, numpy's array
    pickle; its state must describe a numeric array whose bytes fill it."""

    def __init__(self, cls, shape, typecode):
        if cls is not _NdarrayName or shape != (0, ) or typecode != b'b':
            raise _NotData(f'numpy _reconstruct{(cls, shape, typecode)!r}')

    def __setstate__(self, state):
        if isinstance(state, tuple) and len(state) == 5:
            version, shape, dtype, fortran, raw = state
            if (version == 1 and isinstance(shape, tuple)
                    and all(type(n) is int and n >= 0 for n in shape)
                    and isinstance(dtype, _DtypeCheck)
                    and type(fortran) is bool and type(raw) is bytes
                    and len(raw) == math.prod(shape) * dtype.dtype.itemsize):
                return
        raise _NotData('a numpy array state that numpy does not write for a '
                       'numeric array')


def _scalar_check(dtype, raw):
    """Stands for numpy's scalar pickle: a numeric dtype and its bytes."""
    if not (isinstance(dtype, _DtypeCheck) and type(raw) is bytes
            and len(raw) == dtype.dtype.itemsize):
        raise _NotData('a numpy scalar that is not a numeric value')


# What MMEngine 0.10.7's checkpoints hold besides tensors and builtins: its
# message hub's HistoryBuffer objects (which pickle their statistics methods
# through getattr, here restricted), the numpy arrays inside them, and numpy
# scalars and dtypes of logged values. First the stand-ins that check the
# numpy content without building any of it, then the real types.
CHECK_GLOBALS = [
    HistoryBuffer,
    (_statistics_method, 'builtins.getattr'),
    (_NdarrayName, 'numpy.ndarray'),
    (_DtypeCheck, 'numpy.dtype'),
    *[(_ArrayCheck, f'{m}._reconstruct') for m in NUMPY_MODULES],
    *[(_scalar_check, f'{m}.scalar') for m in NUMPY_MODULES],
]
# The names a file may use beyond torch's own allow-list.
ALLOWED_NAMES = frozenset(name if isinstance(name, str) else
                          f'{name.__module__}.{name.__qualname__}'
                          for name in (g[1] if isinstance(g, tuple) else g
                                       for g in CHECK_GLOBALS))
# Numeric dtype classes (a dtype's type in numpy >= 1.25): only so the
# unpickler may set a checked dtype's state; no file may name them.
NUMERIC_DTYPES = [
    type(np.dtype(code)) for code in '?' + np.typecodes['AllInteger'] +
    np.typecodes['AllFloat']
]
SAFE_GLOBALS = [
    HistoryBuffer,
    (_statistics_method, 'builtins.getattr'),
    np.ndarray,
    np.dtype,
    *NUMERIC_DTYPES,
    *[(_multiarray._reconstruct, f'{m}._reconstruct') for m in NUMPY_MODULES],
    *[(_multiarray.scalar, f'{m}.scalar') for m in NUMPY_MODULES],
]

# The config text MMEngine stores: resume, and the inferencers when given no
# config, execute it (``Config.fromstring``).
CONFIG_TEXTS = (('meta', 'cfg'), ('meta', 'config'),
                ('message_hub', 'runtime_info', 'cfg'))

# torch.save's legacy (pre-1.6) format starts with this pickled number.
LEGACY_MAGIC = pickle.dumps(0x1950a86a20f9469cfc6c, protocol=2)[:-1]


def open_checkpoint(path):
    """Open ``path`` (``~`` expanded) for reading, or raise
    :class:`CheckpointError` saying why it cannot be."""
    name = os.fspath(path)
    full = osp.expanduser(name)
    if osp.isdir(full):
        raise CheckpointError(name, 'is a folder, not a checkpoint file')
    try:
        return open(full, 'rb')
    except FileNotFoundError:
        raise CheckpointError(name, 'no such file') from None
    except OSError as err:
        raise CheckpointError(name, err.strerror or str(err)) from None


def _not_a_zip_checkpoint(f):
    """Why ``f``, which is no complete zip archive, is not a checkpoint."""
    f.seek(0)
    head = f.read(16)
    f.seek(0, os.SEEK_END)
    size = f.tell()
    if not head:
        return 'the file is empty'
    if head.startswith(b'PK\x03\x04'):
        return ('truncated or damaged: a zip archive without its end (an '
                'interrupted save or download?)')
    if head.startswith(LEGACY_MAGIC):
        return ('saved in PyTorch\'s legacy format (before 1.6), which safe '
                'loading does not read; re-save it with torch.save in a '
                'session you trust, or pass --trust-checkpoint')
    if head[:1] == b'\x80':
        return ('a plain pickle, not a PyTorch checkpoint (torch.save writes '
                'a zip archive)')
    if len(head) > 8 and head[8:9] == b'{' and \
            int.from_bytes(head[:8], 'little') < size:
        return ('a safetensors file, not a PyTorch checkpoint; read it with '
                'safetensors.torch.load_file')
    return 'not a PyTorch checkpoint (neither a zip archive nor a pickle)'


def _first_line(err):
    text = str(err).strip()
    return f'{type(err).__name__}: {text.splitlines()[0]}' if text else \
        type(err).__name__


def _load_safely(f, name, map_location):
    """Check ``f``'s globals and numpy content, then load it with the
    ``weights_only`` unpickler."""
    if not zipfile.is_zipfile(f):
        raise CheckpointError(name, _not_a_zip_checkpoint(f))
    f.seek(0)
    try:
        names = torch.serialization.get_unsafe_globals_in_checkpoint(f)
    except Exception as err:  # a zip that torch.save did not write
        raise CheckpointError(
            name, f'not a PyTorch checkpoint ({_first_line(err)})') from None
    unsafe = sorted(set(names) - ALLOWED_NAMES)
    if unsafe:
        raise UnsafeCheckpointError(name, unsafe)
    try:
        if any(n.startswith('numpy') for n in names):
            f.seek(0)
            with torch.serialization.safe_globals(CHECK_GLOBALS):
                _torch_load(f, map_location='cpu', weights_only=True)
        f.seek(0)
        with torch.serialization.safe_globals(SAFE_GLOBALS):
            return _torch_load(f, map_location=map_location,
                               weights_only=True)
    except _NotData as err:
        raise UnsafeCheckpointError(name, [str(err)]) from None
    except Exception as err:  # torch raises many types for a bad file
        raise CheckpointError(
            name, f'unreadable ({_first_line(err)})') from None


def _set_aside_config_text(checkpoint, name):
    """Remove :data:`CONFIG_TEXTS` from ``checkpoint``, unread."""
    removed = []
    for keys in CONFIG_TEXTS:
        parent = checkpoint
        for key in keys[:-1]:
            parent = parent.get(key) if isinstance(parent, dict) else None
        if isinstance(parent, dict) and keys[-1] in parent:
            del parent[keys[-1]]
            removed.append('.'.join(keys))
    if removed:
        gpu_check = ('; resuming skips the GPU-count check MMEngine made with '
                     'meta.config') if 'meta.config' in removed else ''
        print_log(
            f'{name}: the config text stored in it ({", ".join(removed)}) '
            f'was set aside unread, as a checkpoint is data and its text '
            f'never runs{gpu_check}', logger='current')


def load_checkpoint_file(file, map_location='cpu', trust=False, name=None):
    """Load a checkpoint safely.

    Args:
        file (str | os.PathLike | file): A path (``~`` is expanded) or a
            seekable binary file object.
        map_location: As :func:`torch.load`.
        trust (bool): Load with the full unpickler, which runs whatever the
            file asks for. Only for files the user trusts.
        name (str, optional): How to name the file in errors (default: the
            path).

    Returns:
        The checkpoint, without the config text MMEngine stores in it
        (:data:`CONFIG_TEXTS`).

    Raises:
        UnsafeCheckpointError: The file needs a type outside the allow-list,
            or holds numpy content that is not numeric data; nothing of it
            was run.
        CheckpointError: The file is missing, truncated, in another format
            or unreadable.
    """
    if isinstance(file, (str, os.PathLike)):
        name = name or os.fspath(file)
        with open_checkpoint(file) as f:
            return load_checkpoint_file(f, map_location, trust, name)
    name = name or getattr(file, 'name', 'from a file object')
    if trust:
        try:
            checkpoint = _torch_load(file, map_location=map_location,
                                     weights_only=False)
        except Exception as err:
            raise CheckpointError(
                name, f'unreadable ({_first_line(err)})') from None
    else:
        checkpoint = _load_safely(file, name, map_location)
    if isinstance(checkpoint, dict):
        _set_aside_config_text(checkpoint, name)
    return checkpoint


# The trust of each mmengine_loading block entered and not yet left.
_trust_stack = []


def _current_trust():
    return bool(_trust_stack) and _trust_stack[-1]


def _load_local(filename, map_location=None):
    """MMEngine's local scheme, through :func:`load_checkpoint_file`."""
    return load_checkpoint_file(filename, map_location, _current_trust())


def _guarded_torch_load(f, map_location=None, pickle_module=None, **kwargs):
    """``torch.load`` inside :func:`mmengine_loading`: whatever the caller
    asks (``weights_only=False`` included), :func:`load_checkpoint_file`."""
    return load_checkpoint_file(f, map_location, _current_trust())


@contextmanager
def mmengine_loading(trust=None):
    """Within the block, MMEngine's local loader and ``torch.load`` lead to
    :func:`load_checkpoint_file`, safe unless ``trust``.

    Every other scheme of MMEngine (``http(s)://``, ``torchvision://``,
    ``open-mmlab://``, ``mmcls://``, ``s3://``) downloads or reads the file
    and then calls ``torch.load``, so it loads safely too, and so does
    ``torch.hub``, whose cache is treated like any other file. Blocks nest:
    ``trust=None`` keeps the enclosing block's choice (safe when there is
    none). Outside every block nothing is changed.
    """
    if trust is None:
        trust = _current_trust()
    outermost = not _trust_stack
    if outermost:
        saved = CheckpointLoader._schemes[''], torch.load
        CheckpointLoader._schemes[''] = _load_local
        torch.load = _guarded_torch_load
    _trust_stack.append(bool(trust))
    try:
        yield
    finally:
        _trust_stack.pop()
        if outermost:
            CheckpointLoader._schemes[''], torch.load = saved
