"""Safe loading under threads: trust is per thread, the loaders stay
installed while any thread has a block open, and what a file may do never
depends on state another thread changes. Each test reproduces a race found
against the earlier, process-global design."""
import threading
from contextlib import ExitStack, contextmanager

import numpy as np
import pytest
import torch
from helpers import as_bytes
from mmengine.runner.checkpoint import CheckpointLoader

from mmhirivit.utils.checkpoint import UnsafeCheckpointError, mmengine_loading

TIMEOUT = 30


@contextmanager
def held_in_thread(enter):
    """Run ``with enter():`` in another thread and hold it open for the
    body of this block."""
    inside, release, errors = threading.Event(), threading.Event(), []

    def hold():
        try:
            with enter():
                inside.set()
                release.wait(TIMEOUT)
        except Exception as err:  # reported to the test
            errors.append(err)
            inside.set()

    thread = threading.Thread(target=hold)
    thread.start()
    assert inside.wait(TIMEOUT)
    try:
        yield
    finally:
        release.set()
        thread.join(TIMEOUT)
    assert not errors, errors


def test_another_threads_trust_is_not_this_threads(malicious, marker):
    with held_in_thread(lambda: mmengine_loading(trust=True)):
        with mmengine_loading(), pytest.raises(UnsafeCheckpointError):
            torch.load(str(malicious), weights_only=False)
    assert not marker.exists()


def test_loaders_stay_while_any_thread_has_a_block(malicious, marker,
                                                   served):
    root, url = served
    (root / 'evil.pth').write_bytes(malicious.read_bytes())
    with ExitStack() as this_threads_block:
        # Another thread opens the first block, this one opens its own, and
        # the other thread's closes: the loaders must stay installed here.
        with held_in_thread(mmengine_loading):
            this_threads_block.enter_context(mmengine_loading())
        with pytest.raises(UnsafeCheckpointError):
            CheckpointLoader.load_checkpoint(f'{url}/evil.pth', 'cpu')
        with pytest.raises(UnsafeCheckpointError):
            torch.load(str(malicious), weights_only=False)
    assert torch.load is torch.serialization.load
    assert not marker.exists()


class ObjectArray:
    """numpy's array pickle with an object dtype over raw bytes."""

    def __reduce__(self):
        return (np.ndarray.__reduce__(np.zeros(1))[0],
                (np.ndarray, (0, ), b'b'),
                (1, (2, ), np.dtype('O'), False, b'A' * 16))


def test_torchs_global_allow_list_changes_nothing(tmp_path):
    """Another thread allows the real numpy types in torch's process-wide
    list (as a safe_globals block does) while this one loads."""
    path = tmp_path / 'object_array.pth'
    path.write_bytes(as_bytes({'x': ObjectArray()}))
    numpy_types = [np.ndarray, np.dtype, np.dtypes.ObjectDType,
                   (np._core.multiarray._reconstruct,
                    'numpy._core.multiarray._reconstruct')]
    with held_in_thread(
            lambda: torch.serialization.safe_globals(numpy_types)):
        with mmengine_loading(), pytest.raises(UnsafeCheckpointError,
                                               match="numpy dtype 'O8'"):
            torch.load(str(path))
