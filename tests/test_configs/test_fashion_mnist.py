"""The Fashion-MNIST configs: the arms' costs and token grids as
docs/real_images.md states them, arm (c) learning from real photographs
(a slice of the set in tests/data/fashion_mnist, MIT licence), and a missing
dataset ending the tools in one line."""
import os.path as osp

import torch
from helpers import error_line, last_val_metrics, repo_path, run_tool
from mmengine.config import Config

from mmhirivit.analysis.builders import build_for_counting, tensor_mode_inputs
from mmhirivit.analysis.complexity import complexity
from mmhirivit.models import HIRIViT

FOLDER = 'configs/fashion_mnist'
ARMS = {
    'a': ('hirivit_t4_fmnist_14px_in56.py', 56),
    'b': ('hirivit_t_fmnist_14px_in112.py', 112),
    'c': ('hirivit_t_fmnist_28px_in112.py', 112),
    'ref': ('resnet18_w16_fmnist_28px_in32.py', 32),
    'hrvit': ('hrvit_b1_fmnist_28px_in32.py', 32),
}
SLICE = repo_path('tests', 'data', 'fashion_mnist')


def _cfg(arm):
    return Config.fromfile(repo_path(FOLDER, ARMS[arm][0]))


def _flops(arm):
    model = build_for_counting(_cfg(arm))
    size = ARMS[arm][1]
    with torch.no_grad():
        return complexity(model, tensor_mode_inputs(model, size, size))


def test_arms_cost_within_a_quarter_of_arm_a():
    base = _flops('a')
    for arm in ('b', 'c', 'ref', 'hrvit'):
        for key in ('flops', 'flops_skipped'):
            assert abs(_flops(arm)[key] / base[key] - 1) < 0.25, (arm, key)


def test_stages_2_to_5_see_the_same_grids():
    grids = []
    for arm in ('a', 'b', 'c'):
        settings = {k: v for k, v in _cfg(arm).model.backbone.items()
                    if k not in ('type', 'out_indices')}
        backbone = HIRIViT(**settings, out_indices=(1, 2, 3, 4)).eval()
        size = ARMS[arm][1]
        with torch.no_grad():
            maps = backbone(torch.zeros(1, 1, size, size))
        grids.append([tuple(m.shape[-2:]) for m in maps])
    assert grids[0] == grids[1] == grids[2] == [(14, 14), (7, 7), (4, 4),
                                                (2, 2)]


def test_arm_c_learns_from_real_photographs(tmp_path):
    """600 training photographs, three epochs: well above the 10% of
    guessing on the 200 held-out ones."""
    cfg = _cfg('c')
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = SLICE
        cfg[loader].num_workers = 0
        cfg[loader].persistent_workers = False
    cfg.train_dataloader.batch_size = 32
    cfg.merge_from_dict({'train_cfg.max_epochs': 3,
                         'train_cfg.val_interval': 3,
                         'default_hooks.logger.interval': 5,
                         'default_hooks.checkpoint.interval': 3})
    cfg.param_scheduler[1].end = 3
    cfg.param_scheduler[0].end = cfg.param_scheduler[1].begin = 0.5
    config = str(tmp_path / 'fmnist_slice.py')
    cfg.dump(config)
    run_tool('train.py', config, '--work-dir', tmp_path / 'work')
    assert last_val_metrics(tmp_path / 'work')['accuracy/top1'] > 30


def test_a_missing_dataset_is_one_line(tmp_path, capsys):
    config = repo_path(FOLDER, ARMS['c'][0])
    message = error_line(capsys, 'train.py', config, '--cfg-options',
                         f'train_dataloader.dataset.data_root={tmp_path}',
                         '--work-dir', tmp_path / 'work')
    assert f'Fashion-MNIST not found in {tmp_path}' in message
    assert 'make data' in message
    assert osp.isdir(SLICE)
