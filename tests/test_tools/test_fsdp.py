"""The large model across processes with FSDP (MMEngine's FlexibleRunner and
FSDPStrategy, each backbone block one unit): two CPU processes over gloo
train configs/maskrcnn_hirivit_l_fsdp_1x_coco.py at toy scale (with T's
widths, for speed), and tools/test.py evaluates the checkpoint they write."""
import os
import os.path as osp
import socket
import subprocess
import sys

import torch
from helpers import (CPU_ONLY, gpu, last_val_metrics, repo_path, run_tool,
                     toy_config)

from mmhirivit.engine.fsdp import BLOCKS, backbone_block_wrap_policy
from mmhirivit.models import HIRIViT

CONFIG = 'configs/maskrcnn_hirivit_l_fsdp_1x_coco.py'


def test_every_block_is_a_unit():
    model = HIRIViT(arch='t')
    wrapped = [m for m in model.modules()
               if backbone_block_wrap_policy(m, recurse=False)]
    assert wrapped and all(isinstance(m, BLOCKS) for m in wrapped)
    assert len([m for m in wrapped if type(m).__name__ ==
                'TransformerBlock']) == 4  # T: two blocks in stages 4 and 5
    assert backbone_block_wrap_policy(model, recurse=True)


def _fsdp_toy(toy_root, tmp_path):
    return toy_config(CONFIG, toy_root / 'coco', tmp_path / 'config', iters=2,
                      extra={'train_dataloader.batch_size': 1,
                             'model.backbone.arch': 't',
                             'model.neck.in_channels': [32, 64, 128, 256],
                             'default_hooks.checkpoint.interval': 1,
                             'work_dir': str(tmp_path / 'work')})


def _dist_train(config, processes):
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    env = dict(os.environ, PORT=str(port),
               PATH=osp.dirname(sys.executable) + os.pathsep +
               os.environ['PATH'])
    return subprocess.run(['bash', repo_path('tools/dist_train.sh'), config,
                           str(processes)], env=env, capture_output=True,
                          text=True, timeout=600)


def _trains_and_tests(toy_root, tmp_path, processes):
    config = _fsdp_toy(toy_root, tmp_path)
    proc = _dist_train(config, processes)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    checkpoint = tmp_path / 'work' / 'epoch_1.pth'
    assert checkpoint.is_file()
    # Rank 0 saved the whole model: tools/test.py reads it in one process.
    run_tool('test.py', config, checkpoint, '--work-dir', tmp_path / 'test')
    assert 'coco/bbox_mAP' in last_val_metrics(tmp_path / 'test')


@CPU_ONLY
def test_fsdp_on_two_cpu_processes(toy_root, tmp_path):
    _trains_and_tests(toy_root, tmp_path, 2)


@gpu
def test_fsdp_on_the_gpus(toy_root, tmp_path):
    _trains_and_tests(toy_root, tmp_path, torch.cuda.device_count())
