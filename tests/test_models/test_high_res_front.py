"""HighResFront: HIRI-ViT's front in front of PVTv2, DaViT and HRNet (paper
§5.7), its levels, freezing and errors, and its configs trained and
evaluated on toy data through tools/train.py, the ImageNet checkpoint
converted into the COCO config."""
import glob
import os.path as osp

import pytest
import torch
from helpers import (ONE_EPOCH, error_line, last_val_metrics, repo_path,
                     run_tool, toy_config, train_step)
from mmengine.config import Config

from mmhirivit.analysis.builders import build_from_config
from mmhirivit.models import HighResFront
from mmhirivit.utils.checkpoint import load_checkpoint_file

WRAPPED = {
    'pvtv2-b2': dict(type='mmdet.PyramidVisionTransformerV2', embed_dims=64,
                     num_layers=[3, 4, 6, 3]),
    'davit-t': dict(type='mmpretrain.DaViT', arch='t', pad_small_map=True,
                    out_indices=(0, 1, 2, 3)),
    'hrnet-w18': dict(type='mmpretrain.HRNet', arch='w18'),
}
# Widths of levels 0-4: the front (half of what it feeds), then the wrapped
# backbone's four outputs.
WIDTHS = {
    'pvtv2-b2': [32, 64, 128, 320, 512],
    'davit-t': [48, 96, 192, 384, 768],
    'hrnet-w18': [32, 18, 36, 72, 144],
}
FRONT_DIR = 'configs/highres_front'


@pytest.mark.parametrize('name', sorted(WRAPPED))
def test_five_levels_at_strides_4_to_64(name):
    front = HighResFront(WRAPPED[name], out_indices=(0, 1, 2, 3, 4))
    x = torch.rand(1, 3, 128, 192, requires_grad=True)
    outs = front(x)
    assert [o.shape[1] for o in outs] == WIDTHS[name]
    assert [tuple(o.shape[-2:]) for o in outs] == [
        (128 // s, 192 // s) for s in (4, 8, 16, 32, 64)]
    sum(o.mean() for o in outs).backward()
    assert x.grad is not None
    assert all(p.grad is not None for p in front.stem.parameters())


def test_the_wrapped_stem_is_gone():
    """The wrapped backbone reads the front's map: no parameter of its own
    stem or first patch embedding is left."""
    names = {n for n, _ in HighResFront(WRAPPED['pvtv2-b2'])
             .named_parameters()}
    assert not any(n.startswith('body.layers.0.0.') for n in names)
    names = {n for n, _ in HighResFront(WRAPPED['hrnet-w18'])
             .named_parameters()}
    assert not any(n.startswith(('body.conv1', 'body.conv2', 'body.norm1',
                                 'body.norm2')) for n in names)


def test_frozen_stages_follow_the_levels():
    front = HighResFront(WRAPPED['pvtv2-b2'], frozen_stages=2)
    front.train()
    frozen = {n.split('.')[0] + ('.' + n.split('.')[2] if n.startswith(
        'body.') else '') for n, p in front.named_parameters()
        if not p.requires_grad}
    assert frozen == {'stem', 'stage', 'downsample', 'body.0'}
    assert not front.stage.training and front.body.layers[1].training


@pytest.mark.parametrize('kwargs, words', [
    (dict(backbone=dict(type='mmpretrain.ResNet', depth=18)),
     ["cannot wrap 'mmpretrain.ResNet'", 'DaViT, HRNet, '
      'PyramidVisionTransformerV2']),
    (dict(backbone=WRAPPED['hrnet-w18'], out_indices=(1, 5)),
     ['out_indices', '-5..4', '(1, 5)']),
    (dict(backbone=WRAPPED['hrnet-w18'], front_depth=3),
     ['front_depth', 'even', '3']),
    (dict(backbone=WRAPPED['hrnet-w18'], frozen_stages=6),
     ['frozen_stages', '-1..5', '6']),
    (dict(backbone=WRAPPED['hrnet-w18'], front_channels=0),
     ['front_channels', 'positive', '0']),
    # The same rules as HIRI-ViT's (models/backbones/common.py).
    (dict(backbone=WRAPPED['hrnet-w18'], drop_path_rate=True),
     ['drop_path_rate', '[0, 1)', 'True']),
])
def test_bad_settings_name_the_value(kwargs, words):
    with pytest.raises(ValueError) as info:
        HighResFront(**kwargs)
    for word in words:
        assert word in str(info.value)


def test_with_cp_recomputes_the_front_alike():
    torch.manual_seed(0)
    plain = HighResFront(WRAPPED['pvtv2-b2'], drop_path_rate=0.2)
    recomputed = HighResFront(WRAPPED['pvtv2-b2'], drop_path_rate=0.2,
                              with_cp=True)
    recomputed.load_state_dict(plain.state_dict())
    x = torch.rand(2, 3, 128, 128)
    torch.testing.assert_close(train_step(plain, x, seed=1),
                               train_step(recomputed, x, seed=1))


def test_a_wrapped_backbone_giving_fewer_maps_is_one_line():
    front = HighResFront(dict(type='mmpretrain.DaViT', arch='t',
                              pad_small_map=True))
    with pytest.raises(RuntimeError, match=r'out_indices to \(0, 1, 2, 3\)'):
        front(torch.rand(1, 3, 64, 64))


IN1K = sorted(osp.relpath(p, repo_path()) for p in glob.glob(
    repo_path(FRONT_DIR, '*_in1k_*.py')))
COCO = sorted(osp.relpath(p, repo_path()) for p in glob.glob(
    repo_path(FRONT_DIR, 'maskrcnn_*-hr_1x_coco.py')))


def test_three_backbones_ship_each_config():
    """mmpretrain has no PVTv2, and mmdet's returns a list, which
    mmpretrain's necks refuse: no plain PVTv2 classifier config."""
    for name in WRAPPED:
        configs = [f'{name}-hr_in1k_448.py', f'maskrcnn_{name}-hr_1x_coco.py']
        if name != 'pvtv2-b2':
            configs.append(f'{name}_in1k_224.py')
        for config in configs:
            assert osp.isfile(repo_path(FRONT_DIR, config)), config


@pytest.mark.parametrize('config', IN1K)
def test_imagenet_config_trains_and_evaluates(config, toy_root, tmp_path):
    run_tool('train.py', toy_config(config, toy_root / 'imagenet', tmp_path,
                                    extra=ONE_EPOCH))
    assert 'accuracy/top1' in last_val_metrics(tmp_path)


@pytest.mark.parametrize('config', COCO)
def test_coco_config_trains_and_evaluates(config, toy_root, tmp_path):
    run_tool('train.py', toy_config(config, toy_root / 'coco', tmp_path))
    metrics = last_val_metrics(tmp_path)
    assert {'coco/bbox_mAP', 'coco/segm_mAP'} <= set(metrics)


def test_converted_imagenet_checkpoint_loads_into_the_coco_config(
        toy_root, tmp_path, capsys):
    config = toy_config(f'{FRONT_DIR}/davit-t-hr_in1k_448.py',
                        toy_root / 'imagenet', tmp_path / 'in1k',
                        extra=ONE_EPOCH)
    run_tool('train.py', config)
    converted = tmp_path / 'backbone.pth'
    run_tool('model_converters/hirivit_to_backbone.py',
             tmp_path / 'in1k' / 'epoch_1.pth', converted)
    assert 'HighResFront backbone' in capsys.readouterr().out

    classifier = build_from_config(config)
    classifier.load_state_dict(load_checkpoint_file(
        str(tmp_path / 'in1k' / 'epoch_1.pth'))['state_dict'])
    cfg = Config.fromfile(
        repo_path(FRONT_DIR, 'maskrcnn_davit-t-hr_1x_coco.py'))
    cfg.model.backbone.norm_cfg = dict(type='BN')
    cfg.model.backbone.init_cfg.checkpoint = str(converted)
    detector = build_from_config(cfg)
    detector.init_weights()
    x = torch.rand(1, 3, 128, 128)
    with torch.no_grad():
        want = classifier.backbone.eval()(x)[-1]
        got = detector.backbone.eval()(x)[-1]
    assert torch.equal(want, got)


def test_a_checkpoint_of_another_backbone_is_refused(tmp_path, capsys):
    """The converter takes HIRI-ViT's and HighResFront's weights only."""
    torch.save({'state_dict': {'backbone.conv1.weight': torch.zeros(1)}},
               tmp_path / 'other.pth')
    line = error_line(capsys, 'model_converters/hirivit_to_backbone.py',
                      tmp_path / 'other.pth', tmp_path / 'out.pth')
    assert 'other.pth' in line
