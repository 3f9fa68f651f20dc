"""model-index.yml and metafile.yml stay in step with configs/, both ways:
every config a user trains has its entry, every entry its config, and what
an entry states (data, schedule, tasks, parameters) is what the config
builds. The toy demo configs are not models of the zoo and have none."""
import glob
import os.path as osp

import pytest
import torch
import yaml
from helpers import repo_path

from mmhirivit.tools.configs import build_from_config, read_config

DATA = {'CocoDataset': 'COCO', 'ADE20KDataset': 'ADE20K',
        'ImageNet': 'ImageNet-1k'}
ZOO_CONFIGS = sorted(
    osp.basename(p) for p in glob.glob(repo_path('configs', '*.py'))
    if not p.endswith('_toy.py'))


def _entries():
    with open(repo_path('metafile.yml')) as f:
        return {entry['Name']: entry for entry in yaml.safe_load(f)['Models']}


def test_model_index_imports_the_metafile():
    with open(repo_path('model-index.yml')) as f:
        index = yaml.safe_load(f)
    assert index == {'Import': ['metafile.yml']}


def test_every_config_has_an_entry_and_every_entry_a_config():
    entries = _entries()
    assert sorted(f'{name}.py' for name in entries) == ZOO_CONFIGS
    for name, entry in entries.items():
        assert entry['Config'] == f'configs/{name}.py'
        assert entry['In Collection'] == 'HIRI-ViT'


def _tasks(cfg):
    scope = cfg.default_scope
    if scope == 'mmseg':
        return ['Semantic Segmentation']
    if scope == 'mmpretrain':
        return ['Image Classification']
    roi_head = cfg.model.get('roi_head') or {}
    return ['Object Detection'] + (
        ['Instance Segmentation'] if 'mask_head' in roi_head else [])


@pytest.mark.parametrize('config', ZOO_CONFIGS)
def test_entry_states_what_the_config_builds(config):
    entry = _entries()[config[:-3]]
    cfg = read_config(repo_path('configs', config))
    meta = entry['Metadata']
    assert meta['Training Data'] == DATA[cfg.train_dataloader.dataset.type]
    if 'max_epochs' in cfg.train_cfg:
        assert meta['Epochs'] == cfg.train_cfg.max_epochs
    else:
        assert meta['Iterations'] == cfg.train_cfg.max_iters
    assert entry['Tasks'] == _tasks(cfg)
    cfg.model.backbone.init_cfg = None
    with torch.device('meta'):
        model = build_from_config(cfg)
    params = sum(p.numel() for p in model.parameters()) / 1e6
    assert meta['Parameters'] == pytest.approx(params, abs=0.01)
