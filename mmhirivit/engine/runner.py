"""A Runner whose checkpoints are complete or absent."""
import os
import os.path as osp

from mmengine.dist import broadcast_object_list, is_main_process
from mmengine.registry import RUNNERS
from mmengine.runner import Runner


class CheckpointSaveError(RuntimeError):
    """A checkpoint could not be saved; the message says which checkpoint the
    run can be resumed from."""


class AtomicCheckpointRunner(Runner):
    """MMEngine's :class:`Runner`, saving each local checkpoint to
    ``<name>.part`` and renaming it only once it is complete.

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
        """Save to ``<filename>.part``, then rename it; return ``None``, or
        the error message after removing the partial file."""
        path = osp.join(out_dir, filename)
        part = path + '.part'
        try:
            super().save_checkpoint(out_dir, filename + '.part', *args,
                                    **kwargs)
            os.replace(part, path)
        except OSError as err:
            if osp.lexists(part):
                os.remove(part)
            return (f'cannot write checkpoint {path}: '
                    f'{err.strerror or err}; nothing of it was kept. '
                    f'{self._resume_hint()}')
        return None

    def _resume_hint(self):
        pointer = osp.join(self.work_dir, 'last_checkpoint')
        if not osp.isfile(pointer):
            return 'No checkpoint was saved before it.'
        with open(pointer) as f:
            last = f.read().strip()
        return (f'The last complete checkpoint is {last}: free space and '
                f'continue with --resume.')


RNG_HOOK = 'mmhirivit.RNGStateHook'


def build_runner(cfg):
    """The runner of ``cfg``: its own ``runner_type`` if it names one (with
    MMEngine's plain saving), else :class:`AtomicCheckpointRunner`; either
    way with :class:`~mmhirivit.engine.hooks.RNGStateHook`, so that a resumed
    run continues as the uninterrupted one would."""
    hooks = list(cfg.get('custom_hooks') or [])
    if not any(h.get('type') in (RNG_HOOK, 'RNGStateHook') for h in hooks):
        cfg.custom_hooks = hooks + [dict(type=RNG_HOOK)]
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return AtomicCheckpointRunner.from_cfg(cfg)
