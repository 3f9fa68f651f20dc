"""model-index.yml and metafile.yml stay in step with configs/, both ways:
every config a user trains has its entry, every entry its config, and what
an entry states (data, schedule, tasks, parameters) is what the config
builds. The demo configs (toy data, two photographs) and the Fashion-MNIST
study are not models of the zoo and have none."""
import glob
import os.path as osp

import pytest
import torch
import yaml
from helpers import repo_path

from mmhirivit.analysis.builders import build_from_config
from mmhirivit.utils.config import read_config

DATA = {'CocoDataset': 'COCO', 'ADE20KDataset': 'ADE20K',
        'ImageNet': 'ImageNet-1k'}
# Each metafile, the configs it lists and their collection.
METAFILES = {
    'metafile.yml': ('configs', 'HIRI-ViT'),
    'configs/highres_front/metafile.yml': ('configs/highres_front',
                                           'HIRI-ViT front'),
    'configs/hrvit/metafile.yml': ('configs/hrvit', 'HRViT'),
}
ZOO_CONFIGS = sorted(
    osp.relpath(p, repo_path()) for folder, _ in METAFILES.values()
    for p in glob.glob(repo_path(folder, '*.py'))
    if not p.endswith(('_toy.py', '_photos.py')))


def _entries():
    """Every entry by its config path."""
    entries = {}
    for metafile in METAFILES:
        with open(repo_path(metafile)) as f:
            for entry in yaml.safe_load(f)['Models']:
                entries[entry['Config']] = entry
    return entries


def test_model_index_imports_the_metafiles():
    with open(repo_path('model-index.yml')) as f:
        index = yaml.safe_load(f)
    assert index == {'Import': list(METAFILES)}


def test_every_config_has_an_entry_and_every_entry_a_config():
    entries = _entries()
    assert sorted(entries) == ZOO_CONFIGS
    for config, entry in entries.items():
        folder, collection = METAFILES[
            'metafile.yml' if osp.dirname(config) == 'configs' else
            f'{osp.dirname(config)}/metafile.yml']
        assert config == f'{folder}/{entry["Name"]}.py'
        assert entry['In Collection'] == collection


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
    entry = _entries()[config]
    cfg = read_config(repo_path(config))
    meta = entry['Metadata']
    assert meta['Training Data'] == DATA[cfg.train_dataloader.dataset.type]
    if 'max_epochs' in cfg.train_cfg:
        assert meta['Epochs'] == cfg.train_cfg.max_epochs
    else:
        assert meta['Iterations'] == cfg.train_cfg.max_iters
    assert entry['Tasks'] == _tasks(cfg)
    cfg.model.backbone.init_cfg = None
    # The backbones HighResFront wraps cannot be built without data (their
    # drop-path rates are read out of tensors).
    front = entry['In Collection'] == 'HIRI-ViT front'
    with torch.device('cpu' if front else 'meta'):
        model = build_from_config(cfg)
    params = sum(p.numel() for p in model.parameters()) / 1e6
    assert meta['Parameters'] == pytest.approx(params, abs=0.01)


def test_hrvit_builds_the_published_parameter_counts():
    """HRViT is written anew from its paper's design: every config with a
    published row has its parameter count within 1% of it (FLOPs:
    docs/hrvit.md)."""
    published = [(config, entry['Metadata'])
                 for config, entry in _entries().items()
                 if 'Published' in entry['Metadata']]
    assert len(published) == 9
    for config, meta in published:
        assert meta['Parameters'] == pytest.approx(
            meta['Published']['Parameters'], rel=0.01), config
