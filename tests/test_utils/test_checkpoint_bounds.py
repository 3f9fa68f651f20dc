"""Bounded work and one read per checkpoint, and the shapes of data that
pass the unpickler but are not what the loaders expect: each ends in one
line, in seconds, with nothing run."""
import copyreg
import io
import os
import zipfile
from collections import OrderedDict

import numpy as np
import pytest
import torch
from helpers import as_bytes
from mmengine.logging import HistoryBuffer

import mmhirivit.utils.checkpoint as checkpoint_module
from mmhirivit.utils.checkpoint import (CheckpointError, UnsafeCheckpointError,
                                        load_checkpoint_bytes,
                                        load_checkpoint_file)

HONEST = {'state_dict': OrderedDict(w=torch.arange(4.))}


def _rewrite(data, pickle_bytes=None, compress=()):
    """``data`` (a torch.save archive) with its data.pkl replaced by
    ``pickle_bytes`` and the records whose names end in ``compress``
    deflated."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, \
            zipfile.ZipFile(out, 'w') as dst:
        for info in src.infolist():
            body = src.read(info)
            if pickle_bytes is not None and info.filename.endswith(
                    'data.pkl'):
                body = pickle_bytes
            kind = zipfile.ZIP_DEFLATED if info.filename.endswith(
                tuple(compress)) else zipfile.ZIP_STORED
            dst.writestr(info.filename, body, compress_type=kind)
    return out.getvalue()


def _refused(fn, words, error=CheckpointError):
    with pytest.raises(error) as info:
        fn()
    message = str(info.value)
    assert words in message and '\n' not in message, message
    return message


def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / 'fifo.pth'
    os.mkfifo(fifo)
    _refused(lambda: load_checkpoint_file(fifo), 'is a FIFO')


def test_a_symlink_to_a_device_is_refused(tmp_path):
    link = tmp_path / 'zero.pth'
    link.symlink_to('/dev/zero')
    _refused(lambda: load_checkpoint_file(link), 'is a character device')


def test_a_file_above_the_limit_is_refused(tmp_path, monkeypatch):
    path = tmp_path / 'big.pth'
    path.write_bytes(as_bytes({'w': torch.zeros(1000)}))
    monkeypatch.setenv('MMHIRIVIT_MAX_CHECKPOINT_GB', str(1000 / 2**30))
    _refused(lambda: load_checkpoint_file(path), 'above the')
    assert load_checkpoint_file(path, max_bytes=10**6)['w'].numel() == 1000


def test_a_bad_limit_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv('MMHIRIVIT_MAX_CHECKPOINT_GB', 'lots')
    with pytest.raises(ValueError, match="'lots'"):
        load_checkpoint_file(tmp_path / 'x.pth')


@pytest.mark.parametrize('record', ['data.pkl', 'data/0'])
def test_compressed_records_are_refused(record):
    # A 1 MB deflated record can hold 1 GiB; a deflated data.pkl can cost
    # minutes of CPU. torch.save never compresses.
    data = _rewrite(as_bytes(HONEST), compress=[record])
    _refused(lambda: load_checkpoint_bytes(data, 'deflated.pth'),
             'is compressed')


def test_torchscript_archives_are_refused():
    buf = io.BytesIO()
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), buf)
    _refused(lambda: load_checkpoint_bytes(buf.getvalue(), 'script.pth'),
             'TorchScript')


def test_deep_nesting_is_refused_in_seconds():
    depth = 200_000
    nested = b'\x80\x02' + b']' * depth + b'a' * (depth - 1) + b'.'
    data = _rewrite(as_bytes(HONEST), nested)
    _refused(lambda: load_checkpoint_bytes(data, 'deep.pth'),
             'nested more than 64 deep')


def test_self_containing_lists_are_refused():
    loop = []
    loop.append(loop)
    _refused(lambda: load_checkpoint_bytes(as_bytes({'x': loop}), 'loop'),
             'contains itself')
    shared = [[1]] * 3  # shared, not circular: data
    assert load_checkpoint_bytes(as_bytes({'x': shared}), 'dag')['x'] == \
        shared


def test_a_nul_byte_in_the_path_is_one_line():
    _refused(lambda: load_checkpoint_file('a\0b.pth'), 'NUL byte')


def test_the_file_is_read_once(tmp_path, monkeypatch):
    """The checks and the load run on the bytes of one read: a writer that
    swaps the file after it was read changes nothing."""
    path = tmp_path / 'honest.pth'
    path.write_bytes(as_bytes(HONEST))
    opened = []
    real_open = os.open
    monkeypatch.setattr(checkpoint_module.os, 'open',
                        lambda *a, **k: opened.append(a[0]) or real_open(
                            *a, **k))
    assert torch.equal(load_checkpoint_file(path)['state_dict']['w'],
                       torch.arange(4.))
    assert opened == [str(path)]

    class Swapping(io.BytesIO):
        """A file whose content turns malicious after the first read."""

        def read(self, *args):
            data = super().read(*args)
            self.seek(0)
            self.write(b'\0' * len(data))
            return data

    loaded = load_checkpoint_file(Swapping(as_bytes(HONEST)), name='swap')
    assert torch.equal(loaded['state_dict']['w'], torch.arange(4.))


# {'x': numpy.dtype created by NEWOBJ from ('O8',)}, which would skip the
# check of numpy.dtype's arguments.
DTYPE_BY_NEWOBJ = (b'\x80\x02}q\x00X\x01\x00\x00\x00xq\x01cnumpy\ndtype\nq\x02'
                   b'X\x02\x00\x00\x00O8q\x03\x85q\x04\x81q\x05s.')


def test_numpy_dtypes_are_not_created_by_newobj():
    data = _rewrite(as_bytes(HONEST), DTYPE_BY_NEWOBJ)
    _refused(lambda: load_checkpoint_bytes(data, 'newobj.pth'), 'creating',
             UnsafeCheckpointError)


def _history(**changes):
    """A HistoryBuffer that pickles with ``changes`` to its state."""
    buffer = HistoryBuffer()
    buffer.update(1.)
    state = dict(buffer.__getstate__(), **changes)
    buffer.__reduce_ex__ = lambda protocol: (copyreg.__newobj__,
                                             (HistoryBuffer, ), state)
    return buffer


@pytest.mark.parametrize('changes, words', [
    (dict(statistics_methods={'mean': HistoryBuffer.max}),
     'statistics methods'),
    (dict(__reduce_ex__=HistoryBuffer.max), 'a HistoryBuffer state with'),
    (dict(_log_history=np.arange(3.)), 'equal length'),
])
def test_history_buffers_get_only_their_own_state(changes, words):
    data = as_bytes({'x': _history(**changes)})
    _refused(lambda: load_checkpoint_bytes(data, 'evil.pth'), words,
             UnsafeCheckpointError)
    # HistoryBuffer.__setstate__ would have copied the methods into the
    # class, for every buffer of the process.
    assert HistoryBuffer._statistics_methods['mean'] is HistoryBuffer.mean


@pytest.mark.parametrize('content, words', [
    ([torch.ones(1)], 'holds a list, not a checkpoint dict'),
    ({1: torch.ones(1)}, 'top-level key 1 is not a name'),
    ({'state_dict': [torch.ones(1)]}, 'its state_dict is a list'),
    ({'state_dict': {0: torch.ones(1)}}, 'has the key 0, not a name'),
    ({'state_dict': {'w': 3}}, "entry 'w' holds int, not a tensor"),
])
def test_wrong_layouts_are_one_line(content, words):
    data = as_bytes(content)
    _refused(lambda: load_checkpoint_bytes(data, 'odd.pth'), words)
