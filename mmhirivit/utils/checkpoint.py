"""Safe checkpoint loading: torch's ``weights_only`` unpickler, with exactly
the types MMEngine's own checkpoints hold allowed besides tensors.

torch >= 2.6 loads with ``weights_only=True`` by default, which refuses the
few objects MMEngine 0.10.7 stores in every checkpoint (its message hub keeps
``HistoryBuffer`` objects with numpy arrays). Switching safe loading off for
that (``weights_only=False`` or ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD``) would let
any checkpoint run code. Instead this module allows those types, only while
a checkpoint is being loaded, and refuses anything else with an error that
names the file and what it needs. Trusting a file beyond that is an explicit
choice (``trust=True``; the tools' ``--trust-checkpoint``).

Use :func:`load_checkpoint_file` for a file, or :func:`mmengine_loading`
around code that lets MMEngine load checkpoints (a Runner's resume,
``load_from``, ``init_cfg=dict(type='Pretrained')``, the inferencers)::

    from mmhirivit.utils.checkpoint import mmengine_loading
    with mmengine_loading():
        inferencer = DetInferencer(model=CONFIG, weights=CHECKPOINT)
"""
import os
import pickle
from contextlib import contextmanager

import numpy as np
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint that needs more than safe loading allows; nothing of it
    was run."""

    def __init__(self, path, names):
        self.path, self.names = path, names
        super().__init__(
            f'refusing to load checkpoint {path}: it needs '
            f'{", ".join(names)}, which safe loading does not allow (nothing '
            f'in it was run); if you trust this file, pass '
            f'--trust-checkpoint (or trust=True)')


# The statistics methods every HistoryBuffer registers.
HISTORY_STATISTICS = ('min', 'max', 'current', 'mean')


def _statistics_method(owner, name):
    """``getattr`` as MMEngine's pickled ``HistoryBuffer`` uses it, to store
    its statistics methods (``getattr(HistoryBuffer, 'mean')``), and for
    nothing else."""
    if owner is not HistoryBuffer or name not in HISTORY_STATISTICS:
        raise pickle.UnpicklingError(
            f'getattr({owner!r}, {name!r}) is not allowed: safe loading '
            f'allows getattr only for HistoryBuffer statistics methods')
    return getattr(owner, name)


# The numeric numpy dtypes (numpy 2 pickles a dtype as an instance of its
# class, e.g. numpy.dtypes.Float64DType).
NUMERIC_DTYPES = [
    type(np.dtype(code)) for code in '?' + np.typecodes['AllInteger'] +
    np.typecodes['AllFloat']
]
# What MMEngine 0.10.7's checkpoints hold besides tensors and builtins: its
# message hub's HistoryBuffer objects (which pickle their statistics methods
# through getattr, here restricted), the numpy arrays inside them, and numpy
# scalars and dtypes of logged values.
SAFE_GLOBALS = [
    HistoryBuffer,
    (_statistics_method, 'builtins.getattr'),
    np.ndarray,
    np.dtype,
    *NUMERIC_DTYPES,
    np._core.multiarray._reconstruct,
    np._core.multiarray.scalar,
]


def unsafe_globals(file):
    """The globals in ``file`` (a path or a binary file object) that safe
    loading does not allow, read without running anything."""
    if not isinstance(file, (str, os.PathLike)):
        file.seek(0)
    with torch.serialization.safe_globals(SAFE_GLOBALS):
        return torch.serialization.get_unsafe_globals_in_checkpoint(file)


def load_checkpoint_file(file, map_location='cpu', trust=False, name=None):
    """Load a checkpoint safely.

    Args:
        file (str | file): A path or a binary file object.
        map_location: As :func:`torch.load`.
        trust (bool): Load with the full unpickler, which runs whatever the
            file asks for. Only for files the user trusts.
        name (str, optional): How to name the file in errors (default: the
            path).

    Raises:
        UnsafeCheckpointError: The file needs a type outside
            :data:`SAFE_GLOBALS`; nothing of it was run.
    """
    if trust:
        return torch.load(file, map_location=map_location, weights_only=False)
    try:
        with torch.serialization.safe_globals(SAFE_GLOBALS):
            return torch.load(file, map_location=map_location,
                              weights_only=True)
    except pickle.UnpicklingError as err:
        names = unsafe_globals(file)
        if not names:
            raise
        raise UnsafeCheckpointError(name or file, names) from err


@contextmanager
def mmengine_loading(trust=False):
    """Within the block, MMEngine loads local checkpoints with
    :func:`load_checkpoint_file` (safely unless ``trust``); outside it,
    nothing changes."""
    original = CheckpointLoader._schemes['']
    CheckpointLoader._schemes[''] = (
        lambda filename, map_location=None: load_checkpoint_file(
            filename, map_location, trust))
    try:
        yield
    finally:
        CheckpointLoader._schemes[''] = original
