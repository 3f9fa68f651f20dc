"""Every HRViT config (configs/hrvit) trains one iteration and evaluates
through tools/train.py on toy data, with the real heads, evaluators and
recipes; the drop-in checks know HRViT."""
import glob
import os.path as osp

import pytest
from helpers import (ONE_EPOCH, last_val_metrics, repo_path, run_tool,
                     toy_config)
from mmengine.config import Config

from mmhirivit.engine.dropin import check_backbone

CONFIGS = sorted(osp.relpath(p, repo_path())
                 for p in glob.glob(repo_path('configs', 'hrvit', '*.py')))
DATA = {'mmseg': 'ade', 'mmdet': 'coco', 'mmpretrain': 'imagenet'}
METRIC = {'mmseg': 'mIoU', 'mmdet': 'coco/bbox_mAP',
          'mmpretrain': 'accuracy/top1'}


def test_every_task_is_there():
    names = [osp.basename(c) for c in CONFIGS]
    for arch in ('b1', 'b2', 'b3'):
        for kind in ('segformer', 'upernet'):
            assert f'{kind}_hrvit_{arch}_160k_ade20k.py' in names
        assert f'hrvit_{arch}_in1k_224.py' in names
    assert 'maskrcnn_hrvit_b2_1x_coco.py' in names


@pytest.mark.parametrize('config', CONFIGS)
def test_config_trains_and_evaluates(config, toy_root, tmp_path):
    scope = Config.fromfile(repo_path(config)).default_scope
    extra = ONE_EPOCH if scope == 'mmpretrain' else None
    run_tool('train.py', toy_config(config, toy_root / DATA[scope], tmp_path,
                                    extra=extra))
    assert METRIC[scope] in last_val_metrics(tmp_path)


def test_the_dropin_checks_know_hrvit():
    cfg = Config.fromfile(repo_path('configs/hrvit/'
                                    'upernet_hrvit_b1_160k_ade20k.py'))
    assert check_backbone(cfg) == []
    cfg.model.decode_head.in_channels = [96, 192, 384, 768]
    [warning] = check_backbone(cfg)
    assert 'does not match the HRViT outputs' in warning
    assert 'write model.decode_head.in_channels=[32,64,128,256]' in warning
