"""tools/train.py and tools/test.py: real runs, resume, and one-line errors."""
import glob
import hashlib
import os
import os.path as osp
import pickle
import re
import signal
import socket
import subprocess
import sys
import time

import pytest
import torch
from helpers import (CPU_ONLY, assert_same_run, error_line, gpu,
                     last_val_metrics, repo_path, run_tool, toy_config)
from mmengine.config import Config

from mmhirivit.engine.setup import enable_amp
from mmhirivit.utils.checkpoint import load_checkpoint_file

DEMO = 'configs/maskrcnn_hirivit_t_demo_toy.py'
# Where a GPU is visible the tools take the GPU path (NCCL, SyncBN, AMP):
# the CPU tests of those paths (CPU_ONLY) have GPU twins (gpu).


def _demo(toy_root, work_dir, **extra):
    extra.setdefault('default_hooks', dict(checkpoint=dict(interval=2)))
    return toy_config(DEMO, toy_root / 'coco', work_dir, iters=4, extra=extra)


def _full_disk_at(step):
    """Config settings under which the disk is full when the checkpoint of
    ``step`` is written."""
    return dict(custom_imports=dict(imports=['mmhirivit', 'helpers'],
                                    allow_failed_imports=False),
                custom_hooks=[dict(type='FullDiskAt', at=step)])


def _partial_files(folder):
    return [name for name in os.listdir(folder) if '.partial' in name]


def _checkpoints(work_dir):
    return sorted(osp.basename(p)
                  for p in glob.glob(osp.join(str(work_dir), 'iter_*.pth')))


def _tensors(node, prefix=''):
    """The tensors in a nested dict/list, by their path."""
    if isinstance(node, torch.Tensor):
        return {prefix: node}
    items = node.items() if isinstance(node, dict) else enumerate(node) \
        if isinstance(node, (list, tuple)) else []
    return {name: tensor for key, value in items
            for name, tensor in _tensors(value, f'{prefix}/{key}').items()}


@pytest.fixture(scope='module')
def straight(toy_root, tmp_path_factory):
    """The demo's uninterrupted 4-iteration toy run: its work dir."""
    work_dir = tmp_path_factory.mktemp('straight')
    run_tool('train.py', _demo(toy_root, work_dir))
    return work_dir


def test_resume_after_a_kill_ends_like_an_uninterrupted_run(
        straight, toy_root, tmp_path):

    # A real kill: tools/train.py in its own process gets SIGKILL once
    # iteration 3 is done (the checkpoint of iteration 2 is on disk).
    resumed = tmp_path / 'resumed'
    marker = tmp_path / 'iteration_3_done'
    stalling = _demo(
        toy_root, resumed,
        custom_imports=dict(imports=['mmhirivit', 'helpers'],
                            allow_failed_imports=False),
        custom_hooks=[dict(type='StallAfterIter', at=3, marker=str(marker))])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [repo_path('tests'), os.environ.get('PYTHONPATH', '')]))
    proc = subprocess.Popen([sys.executable, repo_path('tools', 'train.py'),
                             stalling], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while not marker.exists() and proc.poll() is None \
                and time.monotonic() < deadline:
            time.sleep(0.1)
        assert marker.exists(), f'training ended early ({proc.returncode})'
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert _checkpoints(resumed) == ['iter_2.pth']
    run_tool('train.py', _demo(toy_root, resumed), '--resume')

    assert _checkpoints(resumed) == _checkpoints(straight) == [
        'iter_2.pth', 'iter_4.pth'
    ]
    # The same weights and optimiser state, bit for bit on the CPU: the
    # checkpoint of
    # iteration 2 held everything the run needs (RNGStateHook restores the
    # random state the RPN and RoI samplers draw from).
    ends = [load_checkpoint_file(str(work_dir / 'iter_4.pth'))
            for work_dir in (straight, resumed)]
    assert [end['meta']['iter'] for end in ends] == [4, 4]
    for part in ('state_dict', 'optimizer'):
        assert _tensors(ends[0][part]).keys() == _tensors(ends[1][part]).keys()
        for name, tensor in _tensors(ends[0][part]).items():
            assert_same_run(tensor, _tensors(ends[1][part])[name], name)
    logs = sorted(glob.glob(str(resumed / '*' / '*.log')))
    with open(logs[-1]) as f:
        text = f.read()
    assert 'resumed epoch: 0, iter: 2' in text
    assert 'Iter(train) [3/4]' in text and 'Iter(train) [2/4]' not in text

    # The checkpoint evaluates through tools/test.py with real COCO metrics.
    run_tool('test.py', _demo(toy_root, tmp_path / 'test'),
             resumed / 'iter_4.pth')
    metrics = last_val_metrics(tmp_path / 'test')
    assert {'coco/bbox_mAP', 'coco/segm_mAP'} <= set(metrics)


# What mmdet's, mmseg's and mmpretrain's own tools/test.py do, with plain
# MMEngine and torch's default loader: nothing of mmhirivit's loading.
STOCK_TEST = """
import sys
from mmengine.config import Config
from mmengine.runner import Runner
cfg = Config.fromfile(sys.argv[1])
cfg.work_dir, cfg.load_from = sys.argv[2], sys.argv[3]
Runner.from_cfg(cfg).test()
"""


def test_published_checkpoint_loads_in_the_stock_test_tool(
        straight, toy_root, tmp_path, capsys):
    trained = straight / 'iter_4.pth'
    # torch's default loader refuses what tools/train.py writes.
    with pytest.raises(pickle.UnpicklingError):
        torch.load(trained)

    run_tool('model_converters/publish_model.py', trained,
             tmp_path / 'demo.pth')
    out = capsys.readouterr().out
    [published] = tmp_path.glob('demo-*.pth')
    assert f'wrote {published}' in out
    assert 'message_hub' in out and 'optimizer' in out
    assert re.fullmatch(r'demo-[0-9a-f]{8}\.pth', published.name)
    assert published.name[5:13] == hashlib.sha256(
        published.read_bytes()).hexdigest()[:8]
    checkpoint = torch.load(published)
    assert set(checkpoint) == {'meta', 'state_dict'}
    assert checkpoint['meta']['dataset_meta']['classes'] == (
        'sports ball', 'kite', 'book')
    assert 'cfg' not in checkpoint['meta']
    for name, tensor in load_checkpoint_file(str(trained))[
            'state_dict'].items():
        assert torch.equal(checkpoint['state_dict'][name], tensor), name

    config = _demo(toy_root, tmp_path / 'ours')
    run_tool('test.py', config, trained)
    subprocess.run([sys.executable, '-c', STOCK_TEST, config,
                    str(tmp_path / 'stock'), str(published)], check=True,
                   cwd=repo_path(), stdout=subprocess.DEVNULL)
    stock, ours = (last_val_metrics(tmp_path / run)
                   for run in ('stock', 'ours'))
    assert 'coco/segm_mAP' in ours
    assert {k: v for k, v in stock.items() if k.startswith('coco/')} == \
        {k: v for k, v in ours.items() if k.startswith('coco/')}

    # The published name is never written over.
    message = error_line(capsys, 'model_converters/publish_model.py',
                         trained, tmp_path / 'demo.pth')
    assert f'{published} exists; move it away' in message


def test_full_disk_keeps_only_complete_checkpoints(toy_root, tmp_path,
                                                   capsys):
    work_dir = tmp_path / 'run'
    # The disk is full when iteration 4's checkpoint is written.
    config = _demo(toy_root, work_dir, **_full_disk_at(4))
    message = error_line(capsys, 'train.py', config)
    assert f'cannot write checkpoint {work_dir}/iter_4.pth' in message
    assert 'No space left on device' in message
    assert f'last complete checkpoint is {work_dir}/iter_2.pth' in message
    assert _checkpoints(work_dir) == ['iter_2.pth']
    assert not _partial_files(work_dir)
    assert (work_dir / 'last_checkpoint').read_text().endswith('iter_2.pth')

    run_tool('train.py', _demo(toy_root, work_dir), '--resume')
    assert _checkpoints(work_dir) == ['iter_2.pth', 'iter_4.pth']


def test_unwritable_work_dir(capsys, tmp_path):
    blocker = tmp_path / 'a_file'
    blocker.write_text('not a folder')
    message = error_line(capsys, 'train.py', repo_path(DEMO), '--work-dir',
                         blocker / 'run')
    assert f'work dir {blocker}/run is not writable' in message


def test_missing_config(capsys):
    message = error_line(capsys, 'train.py', 'configs/nope.py')
    assert 'config file not found: configs/nope.py' in message


def test_config_without_default_scope(capsys, tmp_path):
    path = tmp_path / 'no_scope.py'
    path.write_text('model = dict(type="mmhirivit.HIRIViT")\n')
    message = error_line(capsys, 'train.py', path)
    assert 'default_scope=None' in message and "'mmdet'" in message


def test_missing_dataset_points_to_the_readme(capsys, tmp_path):
    message = error_line(
        capsys, 'train.py', repo_path('configs/maskrcnn_hirivit_s_1x_coco.py'),
        '--work-dir', tmp_path, '--cfg-options',
        f'train_dataloader.dataset.data_root={tmp_path}/missing/')
    assert f'{tmp_path}/missing/' in message
    assert 'Data preparation' in message


def test_missing_pretrained_checkpoint_explains_the_ways_out(
        capsys, toy_root, tmp_path):
    config = toy_config('configs/maskrcnn_hirivit_s_1x_coco.py',
                        toy_root / 'coco', tmp_path,
                        extra={'model.backbone.init_cfg': dict(
                            _delete_=True, type='Pretrained',
                            checkpoint='ckpts/none.pth')})
    message = error_line(capsys, 'train.py', config)
    assert 'ckpts/none.pth' in message
    assert 'tools/model_converters/hirivit_to_backbone.py' in message
    assert 'From ImageNet pretraining to COCO/ADE20K' in message
    assert 'model.backbone.init_cfg=None' in message


def test_missing_load_from_checkpoint(capsys, toy_root, tmp_path):
    config = toy_config('configs/hirivit_s_in1k_768_ft.py',
                        toy_root / 'imagenet', tmp_path)
    message = error_line(capsys, 'train.py', config)
    assert 'load_from checkpoint checkpoints/hirivit_s_in1k_448.pth' in message
    assert '--cfg-options load_from=None' in message


def test_test_tool_missing_checkpoint(capsys):
    message = error_line(capsys, 'test.py', repo_path(DEMO), 'nope.pth')
    assert 'checkpoint file not found: nope.pth' in message


def _dist_train(config, timeout=600, processes=2):
    """Run tools/dist_train.sh CONFIG N: torchrun, N processes (gloo on the
    CPU, NCCL on GPUs)."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    env = dict(os.environ, PORT=str(port),
               PATH=osp.dirname(sys.executable) + os.pathsep +
               os.environ['PATH'],
               PYTHONPATH=os.pathsep.join(
                   [repo_path('tests'), os.environ.get('PYTHONPATH', '')]))
    return subprocess.run(['bash', repo_path('tools/dist_train.sh'), config,
                           str(processes)], env=env, capture_output=True,
                          text=True, timeout=timeout)


@CPU_ONLY
def test_dist_train_two_cpu_processes(toy_root, tmp_path):
    config = toy_config(DEMO, toy_root / 'coco', tmp_path, iters=2,
                        extra={'train_dataloader.batch_size': 1})
    proc = _dist_train(config)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    log = next(tmp_path.glob('*/*.log')).read_text()
    assert 'Distributed training: True' in log
    # The config's SyncBN runs as per-process BN on CPU, and says so.
    assert 'SyncBN has no CPU kernel' in proc.stdout + proc.stderr
    assert 'Iter(train) [2/2]' in log and 'coco/bbox_mAP' in log
    assert (tmp_path / 'iter_2.pth').is_file()


@CPU_ONLY
def test_dist_train_full_disk_ends_every_process(toy_root, tmp_path):
    """The main process cannot write a checkpoint: both processes end with
    the message at once, instead of one waiting for the other."""
    config = toy_config(DEMO, toy_root / 'coco', tmp_path, iters=2,
                        extra={'train_dataloader.batch_size': 1,
                               'default_hooks.checkpoint.interval': 1,
                               **_full_disk_at(2)})
    proc = _dist_train(config, timeout=300)
    assert proc.returncode != 0
    message = (f'error: cannot write checkpoint {tmp_path}/iter_2.pth: No '
               f'space left on device')
    assert proc.stderr.count(message) == 2, proc.stderr[-3000:]
    assert _checkpoints(tmp_path) == ['iter_1.pth']
    assert not _partial_files(tmp_path)


@CPU_ONLY
def test_amp_on_cpu_is_one_line(toy_root, tmp_path, capsys):
    config = toy_config(DEMO, toy_root / 'coco', tmp_path)
    for extra in (['--amp'], ['--amp', 'bf16'],
                  ['--cfg-options', 'optim_wrapper.type=AmpOptimWrapper']):
        message = error_line(capsys, 'train.py', config, *extra)
        assert ('mixed precision (--amp, AmpOptimWrapper) needs a GPU'
                in message)
    assert not list(tmp_path.glob('*/*.log'))


@gpu
def test_dist_train_on_the_gpu(toy_root, tmp_path):
    """The GPU path of the CPU test above: NCCL and SyncBN, one process per
    visible GPU."""
    processes = torch.cuda.device_count()
    config = toy_config(DEMO, toy_root / 'coco', tmp_path, iters=2,
                        extra={'train_dataloader.batch_size': 1})
    proc = _dist_train(config, processes=processes)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    log = next(tmp_path.glob('*/*.log')).read_text()
    assert 'Iter(train) [2/2]' in log and 'coco/bbox_mAP' in log


@gpu
def test_dist_train_full_disk_on_the_gpu(toy_root, tmp_path):
    config = toy_config(DEMO, toy_root / 'coco', tmp_path, iters=2,
                        extra={'train_dataloader.batch_size': 1,
                               'default_hooks.checkpoint.interval': 1,
                               **_full_disk_at(2)})
    proc = _dist_train(config, timeout=300,
                       processes=torch.cuda.device_count())
    assert proc.returncode != 0
    assert (f'error: cannot write checkpoint {tmp_path}/iter_2.pth: No '
            f'space left on device') in proc.stderr, proc.stderr[-3000:]
    assert _checkpoints(tmp_path) == ['iter_1.pth']


@gpu
@pytest.mark.parametrize('dtype', ['fp16', 'bf16'])
def test_amp_trains_on_the_gpu(dtype, toy_root, tmp_path, capsys):
    """The GPU path of test_amp_on_cpu_is_one_line: --amp trains, and bf16
    on a GPU without it is one line."""
    config = toy_config(DEMO, toy_root / 'coco', tmp_path)
    if dtype == 'bf16' and not torch.cuda.is_bf16_supported():
        assert 'needs a GPU with bfloat16' in error_line(
            capsys, 'train.py', config, '--amp', dtype)
        return
    run_tool('train.py', config, '--amp', dtype)
    assert (tmp_path / 'iter_1.pth').is_file()


@pytest.mark.parametrize('dtype,settings', [
    ('fp16', dict(type='AmpOptimWrapper', loss_scale='dynamic')),
    ('bf16', dict(type='AmpOptimWrapper', dtype='bfloat16')),
])
def test_amp_sets_mmengines_amp_wrapper(dtype, settings, monkeypatch):
    """What --amp changes in the config, as on a GPU machine."""
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    monkeypatch.setattr(torch.cuda, 'is_bf16_supported', lambda: True)
    cfg = Config.fromfile(repo_path('configs/maskrcnn_hirivit_s_1x_coco.py'))
    optimizer = cfg.optim_wrapper.optimizer.copy()
    enable_amp(cfg, dtype)
    assert {k: cfg.optim_wrapper.get(k) for k in settings} == settings
    assert cfg.optim_wrapper.optimizer == optimizer
    assert 'loss_scale' not in cfg.optim_wrapper or dtype == 'fp16'
