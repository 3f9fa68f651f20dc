"""A Runner whose checkpoints are complete or absent."""
import os.path as osp

from mmengine.dist import broadcast_object_list, is_main_process
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from mmhirivit.utils.checkpoint import CheckpointError, read_checkpoint_bytes
from mmhirivit.utils.files import atomic_output


class CheckpointSaveError(RuntimeError):
    """A checkpoint could not be saved; the message says which checkpoint the
    run can be resumed from."""


class AtomicCheckpointRunner(Runner):
    """MMEngine's :class:`Runner`, saving each local checkpoint to a
    temporary file and renaming it only once it is complete.

    A save that fails (a full disk, a work dir that became unwritable)
    removes the partial file, leaves ``last_checkpoint`` on the last
    complete checkpoint, and ends the run with a
    :class:`CheckpointSaveError` that says which checkpoint to resume from.
    In a distributed run the main process saves and tells the others the
    outcome, so every process ends with that
    message instead of waiting for the main one in the next step. Remote
    ``out_dir`` (``s3://`` ...) are saved as MMEngine does.
    """

    def save_checkpoint(self, out_dir, filename, *args, **kwargs):
        if '://' in out_dir:
            return super().save_checkpoint(out_dir, filename, *args,
                                           **kwargs)
        # Every process gets here (CheckpointHook calls all of them); only the
        # main one writes.
        outcome = [None]
        if is_main_process():
            outcome[0] = self._save_atomically(out_dir, filename, *args,
                                               **kwargs)
        broadcast_object_list(outcome)  # a no-op in a single process
        if outcome[0] is not None:
            raise CheckpointSaveError(outcome[0])

    def _save_atomically(self, out_dir, filename, *args, **kwargs):
        """Save to a temporary file beside ``filename``, then rename it;
        return ``None``, or the error message (nothing of it kept)."""
        path = osp.join(out_dir, filename)
        try:
            with atomic_output(path) as tmp:
                super().save_checkpoint(out_dir, osp.basename(tmp), *args,
                                        **kwargs)
        except OSError as err:
            return (f'cannot write checkpoint {path}: '
                    f'{err.strerror or err}; nothing of it was kept. '
                    f'{self._resume_hint()}')
        return None

    def _resume_hint(self):
        try:
            last = read_last_checkpoint(self.work_dir)
        except ValueError:
            last = None
        if last is None:
            return 'No checkpoint was saved before it.'
        return (f'The last complete checkpoint is {last}: free space and '
                f'continue with --resume.')


def read_last_checkpoint(work_dir):
    """The checkpoint path that ``work_dir/last_checkpoint`` names (what
    ``--resume`` continues from), or None when there is no such file.

    The pointer is read once, bounded, and only if it is a regular file; a
    pointer that is not text naming an existing regular file raises
    ``ValueError`` naming the problem.
    """
    pointer = osp.join(work_dir, 'last_checkpoint')
    if not osp.lexists(pointer):
        return None
    try:
        data = read_checkpoint_bytes(pointer, max_bytes=4096,
                                     what='a last_checkpoint file')
    except CheckpointError as err:
        raise ValueError(f'{pointer}: {err.reason}') from None
    try:
        path = data.decode('utf-8').strip()
    except UnicodeDecodeError:
        path = ''
    if not path or '\0' in path:
        raise ValueError(f'{pointer} does not hold a checkpoint path (it '
                         f'holds {data[:60]!r}); remove it, or resume with '
                         f'--resume PATH')
    if '://' not in path and not osp.isfile(path):
        raise ValueError(f'{pointer} names {path}, which is not a file; '
                         f'resume with --resume PATH')
    return path


def _add_hook(cfg, name):
    hooks = list(cfg.get('custom_hooks') or [])
    if not any(h.get('type') in (f'mmhirivit.{name}', name) for h in hooks):
        cfg.custom_hooks = hooks + [dict(type=f'mmhirivit.{name}')]


def build_runner(cfg):
    """The runner of ``cfg``: its own ``runner_type`` if it names one (with
    MMEngine's plain saving), else :class:`AtomicCheckpointRunner`; either
    way with :class:`~mmhirivit.engine.hooks.RNGStateHook`, so that a resumed
    run continues as the uninterrupted one would, and, when it resumes, with
    :class:`~mmhirivit.engine.hooks.ResumeCheckHook`, which checks the
    resumed state before MMEngine uses it."""
    _add_hook(cfg, 'RNGStateHook')
    if cfg.get('resume'):
        _add_hook(cfg, 'ResumeCheckHook')
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return AtomicCheckpointRunner.from_cfg(cfg)
