"""Check what a resumed checkpoint feeds into the run before MMEngine uses
it."""
import math
import numbers
import os.path as osp

import torch
from mmengine.hooks import Hook
from mmengine.logging import HistoryBuffer, print_log
from mmengine.runner import EpochBasedTrainLoop

from mmhirivit.registry import HOOKS
from mmhirivit.utils.checkpoint import current_trust


class ResumedStateError(ValueError):
    """A resumed checkpoint holds state the run does not expect; nothing of
    it was used. The message names the field."""

    def __init__(self, field, problem):
        self.field = field
        super().__init__(
            f'cannot resume from this checkpoint: {field} {problem} (nothing '
            f'of it was used; --trust-checkpoint resumes from a file you '
            f'trust without this check)')


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _count(value, field, limit):
    if not _is_int(value) or not 0 <= value <= limit:
        raise ResumedStateError(
            field, f'is {value!r}, not an int in 0..{limit} (the configured '
            f'schedule)')


# The keys MMEngine 0.10.7 writes into the message hub's runtime_info, and
# what each holds. 'cfg' is set aside unread by the loader.
_RUNTIME_TYPES = {
    'seed': lambda v: v is None or _is_int(v),
    'experiment_name': lambda v: isinstance(v, str),
    'mmengine_version': lambda v: isinstance(v, str),
    'loop_stage': lambda v: isinstance(v, str),
    'epoch': lambda v: _is_int(v) and v >= 0,
    'iter': lambda v: _is_int(v) and v >= 0,
    'max_epochs': lambda v: _is_int(v) and v >= 0,
    'max_iters': lambda v: _is_int(v) and v >= 0,
    'eta': _is_number,
    'dataset_meta': lambda v: isinstance(v, dict),
    'best_score': _is_number,
}
# Keys whose values are file paths, and the prefixes of keys MMEngine
# writes per metric.
_PATH_KEYS = ('last_ckpt', 'best_ckpt')
_METRIC_PREFIXES = ('val/', 'test/')


def _runtime_kind(key):
    """How to check runtime_info[key]: 'path', 'steps', 'metric', a type
    test, or None for a key MMEngine does not write."""
    if key in _PATH_KEYS or key.startswith('best_ckpt_'):
        return 'path'
    if key == 'keep_ckpt_ids':
        return 'steps'
    if key.startswith(_METRIC_PREFIXES):
        return 'metric'
    if key.startswith('best_score_'):
        return _is_number
    return _RUNTIME_TYPES.get(key)


def _inside(path, folder):
    """Whether ``path`` is a regular file (not a symlink) inside
    ``folder``."""
    if not isinstance(path, str) or '\0' in path or osp.islink(path) or \
            not osp.isfile(path):
        return False
    real, root = osp.realpath(path), osp.realpath(folder)
    return osp.commonpath([real, root]) == root


def _saved_by_the_run(step, runner, meta):
    """Whether checkpoint ``step`` is one the resumed run can have saved: at
    or before the step it resumes from, a file in the work dir named as the
    run's CheckpointHook names its checkpoints."""
    for hook in runner.hooks:
        if type(hook).__name__ != 'CheckpointHook':
            continue
        last = meta['epoch'] if hook.by_epoch else meta['iter']
        path = osp.join(runner.work_dir, hook.filename_tmpl.format(step))
        if _is_int(step) and 0 < step <= last and _inside(
                path, runner.work_dir):
            return True
    return False


def _check_runtime_info(info, runner, meta):
    """Check ``info`` in place: refuse unknown keys and wrong types; drop,
    with one log line each, paths that are not checkpoint files inside the
    work dir and checkpoint steps the run cannot have saved (MMEngine's
    CheckpointHook removes what they name)."""
    for key in list(info):
        field = f'message_hub.runtime_info[{key!r}]'
        if not isinstance(key, str):
            raise ResumedStateError(field, 'is not named by a string')
        kind = _runtime_kind(key)
        value = info[key]
        if kind is None:
            raise ResumedStateError(
                field, 'is not a key MMEngine writes (it writes '
                f'{", ".join(sorted(_RUNTIME_TYPES))}, the checkpoint paths '
                f'{", ".join(_PATH_KEYS)}, keep_ckpt_ids and val/ and test/ '
                f'metrics)')
        if kind == 'path':
            if not _inside(value, runner.work_dir):
                print_log(f'resume: dropped {field}={value!r}, which is not a '
                          f'checkpoint file inside the work dir '
                          f'{runner.work_dir}', logger='current')
                del info[key]
        elif kind == 'steps':
            if not isinstance(value, list):
                raise ResumedStateError(field, f'is {value!r}, not a list of '
                                        f'checkpoint steps')
            kept = [s for s in value if _saved_by_the_run(s, runner, meta)]
            if kept != value:
                print_log(f'resume: dropped from {field} the steps the run '
                          f'cannot have saved (none of its checkpoints in the '
                          f'work dir): '
                          f'{[s for s in value if s not in kept]}',
                          logger='current')
                info[key] = kept
        elif kind != 'metric' and not kind(value):
            raise ResumedStateError(field, f'is {value!r}, which MMEngine '
                                    f'does not write there')


def _check_message_hub(hub, runner, meta):
    fields = {'log_scalars', 'runtime_info', 'resumed_keys'}
    if not isinstance(hub, dict) or set(hub) != fields:
        keys = sorted(hub) if isinstance(hub, dict) else type(hub).__name__
        raise ResumedStateError('message_hub', f'holds {keys}, not '
                                f'{sorted(fields)}')
    for key, value in hub['log_scalars'].items():
        if not isinstance(key, str) or not isinstance(value, HistoryBuffer):
            raise ResumedStateError(f'message_hub.log_scalars[{key!r}]',
                                    'is not a HistoryBuffer')
    for key, value in hub['resumed_keys'].items():
        if not isinstance(key, str) or not isinstance(value, bool):
            raise ResumedStateError(f'message_hub.resumed_keys[{key!r}]',
                                    'is not a flag')
    if not isinstance(hub['runtime_info'], dict):
        raise ResumedStateError('message_hub.runtime_info', 'is not a dict')
    _check_runtime_info(hub['runtime_info'], runner, meta)


def _check_meta(meta, runner):
    if not isinstance(meta, dict):
        raise ResumedStateError('meta', f'is a {type(meta).__name__}, not a '
                                f'dict')
    for key in ('epoch', 'iter'):
        if key not in meta:
            raise ResumedStateError(f'meta.{key}', 'is missing')
    # An iteration-based loop counts an epoch per pass over the data.
    epochs = runner.max_epochs if isinstance(
        runner.train_loop, EpochBasedTrainLoop) else runner.max_iters
    _count(meta['epoch'], 'meta.epoch', epochs)
    _count(meta['iter'], 'meta.iter', runner.max_iters)
    seed = meta.get('seed')
    if seed is not None and not (_is_int(seed) and 0 <= seed < 2**32):
        raise ResumedStateError('meta.seed', f'is {seed!r}, not an int in '
                                f'0..2**32-1')


def _check_rng_state(state):
    if state is None:
        return
    if not isinstance(state, dict) or set(state) != {'torch', 'cuda'}:
        raise ResumedStateError('rng_state', 'is not the dict of torch and '
                                'cuda states mmhirivit.RNGStateHook saves')
    cpu = torch.get_rng_state()
    value = state['torch']
    if not isinstance(value, torch.Tensor) or value.dtype != cpu.dtype or \
            value.shape != cpu.shape:
        raise ResumedStateError(
            'rng_state.torch', f'is not a {cpu.dtype} tensor of shape '
            f'{tuple(cpu.shape)}')
    cuda = state['cuda']
    want = [s.shape for s in torch.cuda.get_rng_state_all()] if \
        torch.cuda.is_available() else None
    if not isinstance(cuda, list) or not all(
            isinstance(s, torch.Tensor) and s.dtype == torch.uint8
            and s.dim() == 1 for s in cuda) or (
                want is not None and len(cuda) == len(want)
                and [s.shape for s in cuda] != want):
        raise ResumedStateError('rng_state.cuda', 'is not a list of CUDA '
                                'generator states')


def match_template(saved, template, field):
    """Raise :class:`ResumedStateError` unless ``saved`` has the shape of
    ``template`` (what the run's own object gives now): the same dict keys,
    list lengths, tensor shapes and kinds of value (numbers of either
    kind stand for each other)."""
    if isinstance(template, dict):
        if not isinstance(saved, dict) or set(saved) != set(template):
            keys = sorted(map(str, saved)) if isinstance(saved, dict) else \
                type(saved).__name__
            raise ResumedStateError(field, f'holds {keys}; the run expects '
                                    f'{sorted(map(str, template))}')
        for key in template:
            match_template(saved[key], template[key], f'{field}.{key}')
    elif isinstance(template, (list, tuple)):
        if not isinstance(saved, (list, tuple)) or len(saved) != len(
                template):
            raise ResumedStateError(field, f'is not a sequence of '
                                    f'{len(template)}')
        for i, (s, t) in enumerate(zip(saved, template)):
            match_template(s, t, f'{field}[{i}]')
    elif isinstance(template, torch.Tensor):
        if not isinstance(saved, torch.Tensor) or saved.shape != \
                template.shape:
            raise ResumedStateError(field, f'is not a tensor of shape '
                                    f'{tuple(template.shape)}')
    elif _is_number(template):
        if not _is_number(saved) or not math.isfinite(float(saved)):
            raise ResumedStateError(field, f'is {saved!r}, not a number')
    elif type(saved) is not type(template):
        raise ResumedStateError(field, f'is a {type(saved).__name__}; the run '
                                f'expects a {type(template).__name__}')


def _check_optimizer_state(saved, optimizer, field):
    """An optimizer's state dict: its param groups as the run's own
    (:func:`match_template`), and per-parameter state only for parameters
    that exist, with tensors of their shapes."""
    template = optimizer.state_dict()
    if not isinstance(saved, dict) or set(saved) != set(template):
        raise ResumedStateError(field, f'is not an optimizer state with '
                                f'{sorted(template)}')
    match_template(saved['param_groups'], template['param_groups'],
                   f'{field}.param_groups')
    params = [p for group in optimizer.param_groups for p in group['params']]
    state = saved['state']
    if not isinstance(state, dict):
        raise ResumedStateError(f'{field}.state', 'is not a dict')
    for index, entry in state.items():
        where = f'{field}.state[{index!r}]'
        if not _is_int(index) or not 0 <= index < len(params) or \
                not isinstance(entry, dict):
            raise ResumedStateError(where, f'is not the state of one of the '
                                    f'{len(params)} parameters')
        for key, value in entry.items():
            ok = isinstance(key, str) and (_is_number(value) or (
                isinstance(value, torch.Tensor) and (
                    value.dim() == 0 or value.shape == params[index].shape)))
            if not ok:
                raise ResumedStateError(
                    f'{where}.{key}', f'is neither a number nor a tensor of '
                    f'the parameter\'s shape {tuple(params[index].shape)}')


def _check_optimizer(saved, runner):
    wrapper = runner.optim_wrapper
    if hasattr(wrapper, 'optim_wrappers'):  # an OptimWrapperDict
        if not isinstance(saved, dict) or set(saved) != set(
                wrapper.optim_wrappers):
            raise ResumedStateError('optimizer', 'does not hold the states of '
                                    f'{sorted(wrapper.optim_wrappers)}')
        pairs = [(saved[k], w, f'optimizer.{k}')
                 for k, w in wrapper.optim_wrappers.items()]
    else:
        pairs = [(saved, wrapper, 'optimizer')]
    for state, one, field in pairs:
        template = one.state_dict()
        extra = {k: v for k, v in template.items()
                 if k not in ('state', 'param_groups')}  # AMP's loss_scaler
        if not isinstance(state, dict):
            raise ResumedStateError(field, 'is not a dict')
        match_template({k: state.get(k) for k in extra}, extra, field)
        _check_optimizer_state(
            {k: v for k, v in state.items() if k not in extra},
            one.optimizer, field)


def _check_schedulers(saved, runner):
    schedulers = runner.param_schedulers
    if schedulers is None:
        return
    template = {k: [s.state_dict() for s in v]
                for k, v in schedulers.items()} if isinstance(
                    schedulers, dict) else [s.state_dict() for s in schedulers]
    match_template(saved, template, 'param_schedulers')


def check_resumed_state(checkpoint, runner):
    """Raise :class:`ResumedStateError` naming the first field of
    ``checkpoint`` that resuming ``runner`` would use and that is not what
    the run expects; drop, with one log line each, checkpoint paths outside
    the work dir (MMEngine's CheckpointHook removes them) and steps the run
    cannot have saved.

    What is checked: ``meta`` (epoch and iter ints within the schedule, seed
    an int), the message hub (MMEngine's keys with their types, HistoryBuffer
    scalars), ``rng_state``, the optimizer (parameter groups and per-parameter
    state of the run's own shapes) and the parameter schedulers (the run's
    own fields).
    """
    _check_meta(checkpoint.get('meta'), runner)
    if 'message_hub' in checkpoint:
        _check_message_hub(checkpoint['message_hub'], runner,
                           checkpoint['meta'])
    _check_rng_state(checkpoint.get('rng_state'))
    if 'optimizer' in checkpoint:
        _check_optimizer(checkpoint['optimizer'], runner)
    if 'param_schedulers' in checkpoint:
        _check_schedulers(checkpoint['param_schedulers'], runner)


@HOOKS.register_module()
class ResumeCheckHook(Hook):
    """Check a resumed checkpoint with :func:`check_resumed_state` right
    after it is loaded, before MMEngine uses any of it (unless this thread
    loads with ``--trust-checkpoint``). ``tools/train.py`` adds it to every
    resumed run (:func:`mmhirivit.engine.build_runner`)."""

    priority = 'VERY_HIGH'

    def after_load_checkpoint(self, runner, checkpoint):
        if not current_trust():
            check_resumed_state(checkpoint, runner)
