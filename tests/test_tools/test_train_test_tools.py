"""tools/train.py and tools/test.py: real runs, resume, and one-line errors."""
import glob
import os
import os.path as osp
import socket
import subprocess
import sys

import pytest
import torch
from mmengine.hooks import Hook
from mmengine.registry import HOOKS

from helpers import (error_line, last_val_metrics, repo_path, run_tool,
                     toy_config)

DEMO = 'configs/maskrcnn_hirivit_t_demo_toy.py'


@HOOKS.register_module(force=True)
class CrashAtIter(Hook):
    """Stands for a kill: raises once iteration ``at`` has finished."""

    def __init__(self, at):
        self.at = at

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        if runner.iter + 1 == self.at:
            raise KeyboardInterrupt(f'killed after iteration {self.at}')


def _demo(toy_root, work_dir, **extra):
    extra.setdefault('default_hooks', dict(checkpoint=dict(interval=2)))
    return toy_config(DEMO, toy_root / 'coco', work_dir, iters=4, extra=extra)


def _checkpoints(work_dir):
    return sorted(osp.basename(p)
                  for p in glob.glob(osp.join(str(work_dir), 'iter_*.pth')))


def test_resume_after_a_kill_ends_like_an_uninterrupted_run(
        toy_root, tmp_path):
    straight = tmp_path / 'straight'
    run_tool('train.py', _demo(toy_root, straight))

    resumed = tmp_path / 'resumed'
    crashing = _demo(toy_root, resumed,
                     custom_hooks=[dict(type='CrashAtIter', at=3)])
    with pytest.raises(KeyboardInterrupt):
        run_tool('train.py', crashing)
    assert _checkpoints(resumed) == ['iter_2.pth']
    run_tool('train.py', _demo(toy_root, resumed), '--resume')

    assert _checkpoints(resumed) == _checkpoints(straight) == [
        'iter_2.pth', 'iter_4.pth'
    ]
    for work_dir in (straight, resumed):
        ckpt = torch.load(work_dir / 'iter_4.pth', map_location='cpu')
        assert ckpt['meta']['iter'] == 4
    logs = sorted(glob.glob(str(resumed / '*' / '*.log')))
    with open(logs[-1]) as f:
        text = f.read()
    assert 'resumed epoch: 0, iter: 2' in text
    assert 'Iter(train) [4/4]' in text and 'Iter(train) [2/4]' not in text

    # The checkpoint evaluates through tools/test.py with real COCO metrics.
    run_tool('test.py', _demo(toy_root, tmp_path / 'test'),
             resumed / 'iter_4.pth')
    metrics = last_val_metrics(tmp_path / 'test')
    assert {'coco/bbox_mAP', 'coco/segm_mAP'} <= set(metrics)


def test_full_disk_keeps_only_complete_checkpoints(toy_root, tmp_path,
                                                    capsys):
    work_dir = tmp_path / 'run'
    config = _demo(toy_root, work_dir)
    # The disk is full when iteration 4's checkpoint is written: /dev/full
    # answers every write with ENOSPC.
    os.symlink('/dev/full', work_dir / 'iter_4.pth.part')
    message = error_line(capsys, 'train.py', config)
    assert f'cannot write checkpoint {work_dir}/iter_4.pth' in message
    assert 'No space left on device' in message
    assert f'last complete checkpoint is {work_dir}/iter_2.pth' in message
    assert _checkpoints(work_dir) == ['iter_2.pth']
    assert not glob.glob(str(work_dir / '*.part'))
    assert (work_dir / 'last_checkpoint').read_text().endswith('iter_2.pth')

    run_tool('train.py', config, '--resume')
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
    assert 'Preparing the datasets' in message


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


def test_dist_train_two_cpu_processes(toy_root, tmp_path):
    """tools/dist_train.sh: torchrun, 2 processes, gloo on CPU."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    config = toy_config(DEMO, toy_root / 'coco', tmp_path, iters=2,
                        extra={'train_dataloader.batch_size': 1})
    env = dict(os.environ, PORT=str(port),
               PATH=osp.dirname(sys.executable) + os.pathsep +
               os.environ['PATH'])
    proc = subprocess.run(['bash', repo_path('tools/dist_train.sh'), config,
                           '2'], env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    log = next(tmp_path.glob('*/*.log')).read_text()
    assert 'Distributed training: True' in log
    assert 'Iter(train) [2/2]' in log and 'coco/bbox_mAP' in log
    assert (tmp_path / 'iter_2.pth').is_file()
