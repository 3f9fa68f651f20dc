"""Safe checkpoint loading: a checkpoint is data, and nothing in it runs.

Every checkpoint loads through :func:`load_checkpoint_bytes`, after one
bounded read (:func:`read_checkpoint_bytes`, or a bounded download):

1. the bytes must form a ``torch.save`` zip archive whose records are
   stored, not compressed, and add up to no more than the file;
2. the names its pickle uses must be in the allow-list
   (:data:`~mmhirivit.utils.unpickler.ALLOWED`), all of them reported at
   once otherwise;
3. it is unpickled by :class:`~mmhirivit.utils.unpickler.DataUnpickler`,
   which builds tensors, containers and the few objects MMEngine 0.10.7
   stores, checking every call's arguments; its allow-list is its own, so
   no global state of torch or of another thread changes what a file may do;
4. containers may nest :data:`MAX_DEPTH` deep at most, with no cycles, and
   the top level must be a dict whose ``state_dict`` (if any) maps names to
   tensors.

The config text MMEngine stores in a checkpoint (``meta['cfg']``,
``meta['config']``, the message hub's ``cfg``) is removed unread: MMEngine
would turn it back into a config by executing it. Trusting a file beyond
that is an explicit choice (``trust=True``; the tools'
``--trust-checkpoint``).

Inside :func:`mmengine_loading`, MMEngine's local loader, ``torch.load`` and
the downloads of MMEngine and ``torch.hub`` lead here, so every scheme (a
path, ``~``, ``http(s)://``, ``torchvision://``, ``open-mmlab://``,
``mmcls://``, ...) and every caller (resume, ``load_from``,
``init_cfg=dict(type='Pretrained')``, the inferencers) loads safely::

    from mmhirivit.utils.checkpoint import mmengine_loading
    with mmengine_loading():
        inferencer = DetInferencer(model=CONFIG, weights=CHECKPOINT)

Outside it nothing changes: importing :mod:`mmhirivit` sets no global.
"""
import hashlib
import inspect
import io
import os
import os.path as osp
import pickle
import pickletools
import stat
import sys
import tempfile
import threading
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from contextlib import contextmanager

import mmengine.runner.checkpoint as mmengine_checkpoint
import torch
import torch.hub
from mmengine.logging import print_log
from mmengine.runner.checkpoint import CheckpointLoader, load_from_local

from .unpickler import (ALLOWED, NotData, data_pickle_module, nesting_depth,
                        python3_name)

# The real functions, whatever mmengine_loading does to their names.
_torch_load = torch.serialization.load
_hub_load = torch.hub.load_state_dict_from_url
_mmengine_load_url = mmengine_checkpoint.load_url

#: The largest checkpoint read, in GiB, unless ``max_bytes`` says otherwise
#: (the environment variable ``MMHIRIVIT_MAX_CHECKPOINT_GB`` changes it).
DEFAULT_MAX_GB = 16
#: How deeply containers may nest: a checkpoint's are a few levels deep.
MAX_DEPTH = 64


def max_checkpoint_bytes():
    """The read limit: ``MMHIRIVIT_MAX_CHECKPOINT_GB`` GiB, else
    :data:`DEFAULT_MAX_GB`."""
    value = os.environ.get('MMHIRIVIT_MAX_CHECKPOINT_GB', DEFAULT_MAX_GB)
    try:
        gib = float(value)
    except ValueError:
        gib = -1
    if not gib > 0:
        raise ValueError(f'MMHIRIVIT_MAX_CHECKPOINT_GB={value!r} must be a '
                         f'positive number of GiB')
    return int(gib * 2**30)


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


# The config text MMEngine stores: resume, and the inferencers when given no
# config, execute it (``Config.fromstring``).
CONFIG_TEXTS = (('meta', 'cfg'), ('meta', 'config'),
                ('message_hub', 'runtime_info', 'cfg'))

# torch.save's legacy (pre-1.6) format starts with this pickled number.
LEGACY_MAGIC = pickle.dumps(0x1950a86a20f9469cfc6c, protocol=2)[:-1]


def _kind(mode):
    for test, kind in ((stat.S_ISDIR, 'a folder'), (stat.S_ISFIFO, 'a FIFO'),
                       (stat.S_ISCHR, 'a character device'),
                       (stat.S_ISBLK, 'a block device'),
                       (stat.S_ISSOCK, 'a socket')):
        if test(mode):
            return kind
    return 'not a regular file'


def _too_big(size, limit):
    return (f'{size / 2**30:.1f} GiB, above the {limit / 2**30:g} GiB limit '
            f'(MMHIRIVIT_MAX_CHECKPOINT_GB raises it)')


def read_checkpoint_bytes(path, max_bytes=None, what='a checkpoint file'):
    """The bytes of the regular file ``path`` (``~`` expanded, symlinks
    followed), read once and at most ``max_bytes`` of them
    (:func:`max_checkpoint_bytes` by default).

    The file is opened without blocking and checked on the open descriptor,
    so a FIFO, a device or a socket, also behind a symlink or swapped in
    after a check, is refused instead of read.

    Raises:
        CheckpointError: Missing, not a regular file, above the limit or
            unreadable.
    """
    name = os.fspath(path)
    if '\0' in name:
        raise CheckpointError(repr(name), 'the path holds a NUL byte')
    limit = max_checkpoint_bytes() if max_bytes is None else max_bytes
    try:
        fd = os.open(osp.expanduser(name),
                     os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise CheckpointError(name, 'no such file') from None
    except OSError as err:
        raise CheckpointError(name, err.strerror or str(err)) from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
        os.close(fd)
        raise CheckpointError(name, _too_big(info.st_size, limit) if stat.
                              S_ISREG(info.st_mode) else
                              f'is {_kind(info.st_mode)}, not {what}')
    with os.fdopen(fd, 'rb') as f:
        try:
            data = f.read(limit + 1)
        except OSError as err:
            raise CheckpointError(name, err.strerror or str(err)) from None
    if len(data) > limit:  # it grew while being read
        raise CheckpointError(name, _too_big(len(data), limit))
    return data


def _not_a_zip_checkpoint(data):
    """Why ``data``, which is no complete zip archive, is not a
    checkpoint."""
    head = data[:16]
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
            int.from_bytes(head[:8], 'little') < len(data):
        return ('a safetensors file, not a PyTorch checkpoint; read it with '
                'safetensors.torch.load_file')
    return 'not a PyTorch checkpoint (neither a zip archive nor a pickle)'


def _pickle_record(data, name):
    """The bytes of the archive's ``data.pkl``, after checking that the
    archive is one ``torch.save`` writes: stored records (torch never
    compresses) whose sizes add up to no more than the file, and no
    TorchScript."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise CheckpointError(name, _not_a_zip_checkpoint(data)) from None
    with archive:
        infos = archive.infolist()
        if any(i.filename.endswith('constants.pkl') for i in infos):
            raise CheckpointError(name, 'a TorchScript archive, not a '
                                  'checkpoint (torch.jit.load reads it)')
        compressed = [i.filename for i in infos
                      if i.compress_type != zipfile.ZIP_STORED]
        if compressed:
            raise CheckpointError(
                name, f'its record {compressed[0]} is compressed, which '
                f'torch.save never does (refused: a compressed record can '
                f'expand without bound)')
        if sum(i.file_size for i in infos) > len(data):
            raise CheckpointError(name, 'its records add up to more than '
                                  'the file (overlapping zip records)')
        pickles = [i for i in infos if i.filename.endswith('/data.pkl')
                   or i.filename == 'data.pkl']
        if len(pickles) != 1:
            raise CheckpointError(name, 'not a PyTorch checkpoint (a zip '
                                  'archive without one data.pkl)')
        try:
            return archive.read(pickles[0])
        except (zipfile.BadZipFile, OSError) as err:
            raise CheckpointError(name, f'truncated or damaged ({err})')


def _names_in_pickle(record):
    """The ``module.name`` globals a protocol-2 pickle names."""
    names = set()
    for op, arg, _ in pickletools.genops(record):
        if op.name == 'GLOBAL':
            names.add(python3_name(*arg.split(' ', 1)))
        elif op.name in ('STACK_GLOBAL', 'INST', 'OBJ', 'EXT1', 'EXT2',
                         'EXT4'):
            names.add(f'pickle opcode {op.name}')
    return names


def _unknown_names(record, name):
    try:
        names = _names_in_pickle(record)
    except Exception as err:  # pickletools raises many types for bad input
        raise CheckpointError(
            name, f'unreadable ({_first_line(err)})') from None
    # torch's loader resolves its storage types (torch.FloatStorage ...).
    return sorted(n for n in names if n not in ALLOWED and not (
        n.startswith('torch.') and n.endswith('Storage')))


def _first_line(err):
    text = str(err).strip()
    return f'{type(err).__name__}: {text.splitlines()[0]}' if text else \
        type(err).__name__


def _load_safely(data, name, map_location):
    record = _pickle_record(data, name)
    unknown = _unknown_names(record, name)
    if unknown:
        raise UnsafeCheckpointError(name, unknown)
    if os.environ.get('TORCH_FORCE_WEIGHTS_ONLY_LOAD', '0').lower() in (
            '1', 'y', 'yes', 'true'):
        raise CheckpointError(
            name, 'TORCH_FORCE_WEIGHTS_ONLY_LOAD is set, and with it torch '
            'refuses every unpickler but its own, mmhirivit\'s safe one '
            'included; unset it for these tools (they load safely without '
            'it)')
    try:
        checkpoint = _torch_load(io.BytesIO(data), map_location=map_location,
                                 pickle_module=data_pickle_module(),
                                 weights_only=False, mmap=False)
        nesting_depth(checkpoint, MAX_DEPTH)
    except NotData as err:
        raise UnsafeCheckpointError(name, [str(err)]) from None
    except Exception as err:  # torch raises many types for a bad file
        raise CheckpointError(
            name, f'unreadable ({_first_line(err)})') from None
    return checkpoint


def _load_trusted(data, name, map_location):
    try:
        return _torch_load(io.BytesIO(data), map_location=map_location,
                           weights_only=False)
    except Exception as err:
        raise CheckpointError(
            name, f'unreadable ({_first_line(err)})') from None


def check_layout(checkpoint, name):
    """Raise :class:`CheckpointError` unless ``checkpoint`` is a dict with
    string keys whose ``state_dict``, if it has one, maps names to
    tensors: what every loader of the codebases indexes into."""
    if not isinstance(checkpoint, dict):
        raise CheckpointError(name, f'holds a {type(checkpoint).__name__}, '
                              f'not a checkpoint dict')
    bad = [k for k in checkpoint if not isinstance(k, str)]
    if bad:
        raise CheckpointError(name, f'its top-level key {bad[0]!r} is not a '
                              f'name')
    if 'state_dict' not in checkpoint:
        return
    weights = checkpoint['state_dict']
    if not isinstance(weights, dict):
        raise CheckpointError(name, f'its state_dict is a '
                              f'{type(weights).__name__}, not a mapping of '
                              f'names to tensors')
    for key, value in weights.items():
        if not isinstance(key, str):
            raise CheckpointError(name, f'its state_dict has the key {key!r}, '
                                  f'not a name')
        if not isinstance(value, torch.Tensor):
            raise CheckpointError(name, f'its state_dict entry {key!r} holds '
                                  f'{type(value).__name__}, not a tensor')


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


def load_checkpoint_bytes(data, name, map_location='cpu', trust=False):
    """Load the checkpoint whose file holds ``data``, safely unless
    ``trust``; see the module's description for what is checked.

    Args:
        data (bytes): The whole file.
        name (str): How to name the file in errors.
        map_location: As :func:`torch.load`.
        trust (bool): Load with the full unpickler, which runs whatever the
            file asks for. Only for files the user trusts.

    Returns:
        dict: The checkpoint, without the config text MMEngine stores in it
        (:data:`CONFIG_TEXTS`).

    Raises:
        UnsafeCheckpointError: The file needs a type outside the allow-list,
            or holds content that is not data; nothing of it was run.
        CheckpointError: The file is truncated, in another format,
            unreadable, or not a dict of the layout :func:`check_layout`
            describes.
    """
    if trust:
        checkpoint = _load_trusted(data, name, map_location)
    else:
        checkpoint = _load_safely(data, name, map_location)
    check_layout(checkpoint, name)
    _set_aside_config_text(checkpoint, name)
    return checkpoint


def load_checkpoint_file(file, map_location='cpu', trust=None, name=None,
                         max_bytes=None):
    """Load a checkpoint safely (:func:`load_checkpoint_bytes`) after one
    bounded read (:func:`read_checkpoint_bytes`).

    Args:
        file (str | os.PathLike | file): A path (``~`` is expanded) or a
            binary file object.
        map_location: As :func:`torch.load`.
        trust (bool, optional): Load with the full unpickler (see
            :func:`load_checkpoint_bytes`); None takes the trust of the
            innermost :func:`mmengine_loading` block of this thread (safe
            when there is none).
        name (str, optional): How to name the file in errors (default: the
            path).
        max_bytes (int, optional): The read limit (default:
            :func:`max_checkpoint_bytes`).

    Returns:
        dict: The checkpoint, without the config text MMEngine stores.
    """
    trust = current_trust() if trust is None else trust
    if isinstance(file, (str, os.PathLike)):
        name = name or os.fspath(file)
        data = read_checkpoint_bytes(file, max_bytes)
    else:
        name = name or getattr(file, 'name', 'from a file object')
        limit = max_checkpoint_bytes() if max_bytes is None else max_bytes
        data = file.read(limit + 1)
        if len(data) > limit:
            raise CheckpointError(name, _too_big(len(data), limit))
    return load_checkpoint_bytes(data, name, map_location, trust)


# Downloads.


def _download(url, limit):
    """The bytes at ``url``, at most ``limit`` of them, held in memory: a
    download reaches the disk only once it has passed the checks."""
    print_log(f'downloading {url}', logger='current')
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            size = response.headers.get('Content-Length')
            if size and size.isdigit() and int(size) > limit:
                raise CheckpointError(url, _too_big(int(size), limit))
            data = response.read(limit + 1)
    except (urllib.error.URLError, OSError, ValueError) as err:
        if isinstance(err, CheckpointError):
            raise
        reason = getattr(err, 'reason', None) or err
        raise CheckpointError(url, f'download failed ({reason})') from None
    if len(data) > limit:
        raise CheckpointError(url, _too_big(len(data), limit))
    return data


def _add_to_cache(data, path):
    """Put ``data`` at ``path`` unless a file is there already (an honest
    cache file is never replaced), written completely before it appears."""
    folder = osp.dirname(path)
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f'.{osp.basename(path)}.',
                               suffix='.partial')
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.link(tmp, path)  # fails, replacing nothing, if the name is taken
    except OSError:
        pass  # not cached: the next load downloads again
    finally:
        os.unlink(tmp)


def fetch_checkpoint(url, model_dir=None, map_location=None, progress=True,
                     check_hash=False, file_name=None, weights_only=None,
                     trust=None):
    """``torch.hub.load_state_dict_from_url`` made safe: a file in the hub
    cache is loaded as any other untrusted file; a download is held in
    memory (bounded by :func:`max_checkpoint_bytes`), checked there, and
    enters the cache only once it has loaded safely. A refused download
    leaves nothing behind, and torch.hub's unpacking of zip downloads is
    never used. ``progress`` and ``weights_only`` are accepted for
    compatibility and ignored: the load is always safe unless ``trust``
    (None: as :func:`load_checkpoint_file`), and a trusted file that needs
    the full unpickler is loaded but never cached.
    """
    trust = current_trust() if trust is None else trust
    folder = model_dir or osp.join(torch.hub.get_dir(), 'checkpoints')
    file_name = file_name or osp.basename(urllib.parse.urlparse(url).path)
    cached = osp.join(folder, file_name)
    if osp.lexists(cached):
        return load_checkpoint_file(cached, map_location, trust)
    data = _download(url, max_checkpoint_bytes())
    if check_hash:
        match = torch.hub.HASH_REGEX.search(file_name)
        digest = hashlib.sha256(data).hexdigest()
        if match and not digest.startswith(match.group(1)):
            raise CheckpointError(url, f'its SHA-256 {digest[:8]}... does not '
                                  f'match the {match.group(1)} in its name')
    try:
        checkpoint = load_checkpoint_bytes(data, url, map_location)
    except UnsafeCheckpointError:
        if not trust:
            raise
        return load_checkpoint_bytes(data, url, map_location, trust=True)
    _add_to_cache(data, cached)
    return checkpoint


# mmengine_loading: per thread, installed while any thread has a block open.

_local = threading.local()
_install_lock = threading.Lock()
_open_blocks = 0


def _trust_stack():
    if not hasattr(_local, 'trust'):
        _local.trust = []
    return _local.trust


def current_trust():
    """The trust of this thread's innermost :func:`mmengine_loading` block
    (False when it has none)."""
    stack = _trust_stack()
    return bool(stack) and stack[-1]


def _in_block():
    return bool(_trust_stack())


def _load_local(filename, map_location=None):
    """MMEngine's local scheme: :func:`load_checkpoint_file` in a thread
    inside :func:`mmengine_loading`, MMEngine's own loader elsewhere."""
    if not _in_block():
        return load_from_local(filename, map_location)
    return load_checkpoint_file(filename, map_location)


_TORCH_LOAD_SIGNATURE = inspect.signature(_torch_load)


# torch's unpickling of a pickled storage: it is reached only from inside
# another full unpickler (torch.distributed's object collectives pickle
# tensors so), never from a checkpoint loaded here, whose unpickler does
# not name it.
_STORAGE_FROM_BYTES = torch.storage._load_from_bytes.__code__


def _guarded_torch_load(*args, **kwargs):
    """``torch.load`` in a thread inside :func:`mmengine_loading`:
    :func:`load_checkpoint_file` for a call that leaves ``weights_only`` to
    the default (as MMEngine's loaders do) or asks for ``False``; torch's
    own loader for a call that asks for ``weights_only=True`` itself (as
    torch.distributed's object collectives do, for bytes that are no
    checkpoint) or that comes from torch's unpickling of a storage, and
    everywhere outside a block."""
    bound = _TORCH_LOAD_SIGNATURE.bind(*args, **kwargs).arguments
    if not _in_block() or bound.get('weights_only') is True or \
            sys._getframe(1).f_code is _STORAGE_FROM_BYTES:
        return _torch_load(*args, **kwargs)
    return load_checkpoint_file(bound['f'], bound.get('map_location'))


def _guarded_hub_load(*args, **kwargs):
    """``torch.hub.load_state_dict_from_url`` (which MMEngine's ``load_url``
    is): :func:`fetch_checkpoint` in a thread inside
    :func:`mmengine_loading`, torch's own elsewhere."""
    if not _in_block():
        return _hub_load(*args, **kwargs)
    return fetch_checkpoint(*args, **kwargs)


def _install(on):
    """Point the loaders at this module (``on``) or back at their own."""
    CheckpointLoader.register_scheme(
        '', _load_local if on else load_from_local, force=True)
    torch.load = _guarded_torch_load if on else _torch_load
    torch.hub.load_state_dict_from_url = _guarded_hub_load if on else \
        _hub_load
    mmengine_checkpoint.load_url = _guarded_hub_load if on else \
        _mmengine_load_url


@contextmanager
def mmengine_loading(trust=None):
    """Within the block, MMEngine's local loader, ``torch.load`` and the
    downloads of MMEngine and ``torch.hub`` lead to this module's loaders,
    safe unless ``trust``.

    Every scheme of MMEngine (``http(s)://``, ``torchvision://``,
    ``open-mmlab://``, ``mmcls://``, ``s3://``) downloads or reads the file
    and then calls ``torch.load``, so it loads safely too. Blocks nest:
    ``trust=None`` keeps the enclosing block's choice (safe when there is
    none). Trust is per thread: another thread's trusted block changes
    nothing here. The loaders stay installed while any thread has a block
    open and act only in threads inside one; outside every block nothing is
    changed.
    """
    global _open_blocks
    stack = _trust_stack()
    stack.append(current_trust() if trust is None else bool(trust))
    with _install_lock:
        _open_blocks += 1
        if _open_blocks == 1:
            _install(True)
    try:
        yield
    finally:
        stack.pop()
        with _install_lock:
            _open_blocks -= 1
            if _open_blocks == 0:
                _install(False)
