"""A resumed checkpoint is data the run expects, or it is refused in one
line; checkpoint paths and steps in it that MMEngine's CheckpointHook would
remove are dropped unless they are the run's own."""
import os

import pytest
import torch
from helpers import error_line, run_tool, toy_config

from mmhirivit.utils.checkpoint import load_checkpoint_file

DEMO = 'configs/maskrcnn_hirivit_t_demo_toy.py'
SAVE_BEST = dict(default_hooks=dict(
    checkpoint=dict(interval=1, save_best='auto', max_keep_ckpts=1)))


@pytest.fixture(scope='module')
def trained(toy_root, tmp_path_factory):
    """A real checkpoint of one iteration, saving the best as it goes."""
    work_dir = tmp_path_factory.mktemp('trained')
    run_tool('train.py', toy_config(DEMO, toy_root / 'coco', work_dir,
                                    extra=SAVE_BEST))
    return work_dir / 'iter_1.pth'


def _plant(trained, path, change):
    checkpoint = load_checkpoint_file(trained)
    change(checkpoint)
    torch.save(checkpoint, path)
    return path


def _runtime(**info):
    return lambda c: c['message_hub']['runtime_info'].update(info)


def _set(section, **values):
    return lambda c: c[section].update(values)


def _scheduler_method(c):
    c['param_schedulers'][0]['_get_value'] = torch.ones(1)


def _optimizer_shape(c):
    c['optimizer']['state'][0] = {'exp_avg': torch.zeros(7, 7), 'step': 1.}


@pytest.mark.parametrize('change, words', [
    (_set('meta', iter=10**9), 'meta.iter is 1000000000, not an int in 0..2'),
    (_set('meta', iter='x'), "meta.iter is 'x'"),
    (_set('meta', seed='abc'), "meta.seed is 'abc'"),
    (lambda c: c.update(rng_state=dict(torch=torch.zeros(3, dtype=torch.uint8),
                                       cuda=[])), 'rng_state.torch'),
    (_runtime(hook_code='x'), "runtime_info['hook_code'] is not a key"),
    (_runtime(best_score='high'), "runtime_info['best_score'] is 'high'"),
    (_scheduler_method, 'param_schedulers[0] holds'),
    (_optimizer_shape, 'optimizer.state[0].exp_avg'),
    (lambda c: c.update(message_hub=[]), 'message_hub holds list'),
])
def test_unexpected_state_is_one_line(change, words, trained, toy_root,
                                      tmp_path, capsys):
    planted = _plant(trained, tmp_path / 'planted.pth', change)
    config = toy_config(DEMO, toy_root / 'coco', tmp_path / 'work', iters=2)
    message = error_line(capsys, 'train.py', config, '--resume', planted)
    assert message.startswith('error: cannot resume from this checkpoint: ')
    assert words in message, message
    assert not (tmp_path / 'work' / 'iter_2.pth').exists()


def test_paths_outside_the_work_dir_are_dropped(trained, toy_root, tmp_path,
                                                capsys):
    """MMEngine's CheckpointHook removes the previous best checkpoint
    (``rmtree`` for a folder) and the steps of ``keep_ckpt_ids`` beyond
    ``max_keep_ckpts``: with a data-only checkpoint naming them, a resumed
    run would delete a folder of the user's and checkpoints it never
    saved."""
    victim = tmp_path / 'precious'
    victim.mkdir()
    (victim / 'results.txt').write_text('months of work')
    work_dir = tmp_path / 'work'
    work_dir.mkdir()
    kept = work_dir / 'iter_7.pth'  # a checkpoint the user saved aside
    kept.write_bytes(b'kept')
    planted = _plant(trained, tmp_path / 'planted.pth', _runtime(
        best_ckpt=str(victim), best_score=-2., keep_ckpt_ids=[7]))
    config = toy_config(DEMO, toy_root / 'coco', work_dir, iters=2,
                        extra=SAVE_BEST)
    run_tool('train.py', config, '--resume', planted)
    assert (victim / 'results.txt').read_text() == 'months of work'
    assert kept.read_bytes() == b'kept'
    assert (work_dir / 'iter_2.pth').exists()
    log = capsys.readouterr().out
    assert f"dropped message_hub.runtime_info['best_ckpt']='{victim}'" in log
    assert "dropped from message_hub.runtime_info['keep_ckpt_ids']" in log


def test_a_real_checkpoint_resumes(trained, toy_root, tmp_path):
    work_dir = tmp_path / 'work'
    config = toy_config(DEMO, toy_root / 'coco', work_dir, iters=2,
                        extra=SAVE_BEST)
    run_tool('train.py', config, '--resume', trained)
    assert load_checkpoint_file(work_dir / 'iter_2.pth')['meta']['iter'] == 2


@pytest.mark.parametrize('pointer, words', [
    ('fifo', 'is a FIFO'),
    ('nul', 'does not hold a checkpoint path'),
    ('missing', 'which is not a file'),
])
def test_a_bad_last_checkpoint_is_one_line(pointer, words, toy_root,
                                           tmp_path, capsys):
    work_dir = tmp_path / 'work'
    config = toy_config(DEMO, toy_root / 'coco', work_dir)
    path = work_dir / 'last_checkpoint'
    if pointer == 'fifo':
        os.mkfifo(path)
    else:
        path.write_text('a\0b' if pointer == 'nul' else str(tmp_path / 'x'))
    message = error_line(capsys, 'train.py', config, '--resume')
    assert message.startswith('error: --resume: ') and words in message
