"""The ImageNet pretraining configs: the paper's recipe, a real toy run with
EMA distillation through tools/train.py, and its checkpoint converted into
the real COCO and ADE20K configs."""
import glob
import os.path as osp

import pytest
import torch
from helpers import repo_path, run_tool, toy_config
from mmengine.config import Config
from mmengine.runner import load_checkpoint

from mmhirivit.analysis.builders import build_from_config
from mmhirivit.models import HIRIViT
from mmhirivit.utils.checkpoint import load_checkpoint_file, mmengine_loading

PRETRAIN_CONFIGS = sorted(
    osp.relpath(p, repo_path())
    for p in glob.glob(repo_path('configs', 'hirivit_*_in1k_*.py'))
    if not p.endswith('_demo_toy.py'))


def _types(pipeline):
    return [step['type'] for step in pipeline]


def test_the_configs_are_shipped():
    names = {osp.basename(p) for p in PRETRAIN_CONFIGS}
    assert names == {
        'hirivit_s_in1k_448.py', 'hirivit_b_in1k_448.py',
        'hirivit_l_in1k_448.py', 'hirivit_s_in1k_224.py',
        'hirivit_s_in1k_768_ft.py'
    }


@pytest.mark.parametrize('config', PRETRAIN_CONFIGS)
def test_recipe(config):
    cfg = Config.fromfile(repo_path(config))
    model = build_from_config(cfg)
    assert model.head.fc.in_features == model.backbone.out_channels[-1]
    # The arch the file name states.
    assert cfg.model.backbone.arch == osp.basename(config).split('_')[1]
    assert 0 < model.alpha < 1
    assert [h.type for h in cfg.custom_hooks] == ['mmhirivit.EMADistillHook']
    assert [a.type for a in cfg.model.train_cfg.augments] == [
        'Mixup', 'CutMix'
    ]
    train = _types(cfg.train_dataloader.dataset.pipeline)
    assert {'RandomResizedCrop', 'RandomFlip', 'RandAugment',
            'RandomErasing'} <= set(train)
    size = int(config.split('_')[-1].split('.')[0]) if 'ft' not in config \
        else 768
    crop = cfg.train_dataloader.dataset.pipeline[1]
    assert crop.type == 'RandomResizedCrop' and crop.scale == size
    assert cfg.test_dataloader.dataset.pipeline[-2].crop_size == size
    # 8 GPUs x 128 = 1024, the batch the learning rate is stated for.
    assert cfg.train_dataloader.batch_size == 128
    assert cfg.auto_scale_lr.base_batch_size == 1024
    optimizer = cfg.optim_wrapper.optimizer
    assert optimizer.type == 'AdamW'
    assert cfg.optim_wrapper.paramwise_cfg.norm_decay_mult == 0
    if 'ft' in config:
        assert cfg.train_cfg.max_epochs == 30
        assert (optimizer.lr, optimizer.weight_decay) == (1e-5, 1e-8)
        assert cfg.load_from == 'checkpoints/hirivit_s_in1k_448.pth'
    else:
        assert cfg.train_cfg.max_epochs == 300
        assert (optimizer.lr, optimizer.weight_decay) == (1e-3, 0.05)
        warmup, cosine = cfg.param_scheduler
        assert (warmup.type, warmup.end) == ('LinearLR', 5)
        assert (cosine.type, cosine.begin) == ('CosineAnnealingLR', 5)


@pytest.fixture(scope='module')
def pretrained(toy_root, tmp_path_factory):
    """The real 448 recipe on toy ImageNet: 6 epochs of one iteration, so
    that the 5 warm-up epochs end and the cosine part runs; the EMA and
    distillation start in the fifth epoch (the recipe: the sixth), so that
    the EMA is updated twice (its first update copies the model)."""
    work_dir = tmp_path_factory.mktemp('in1k')
    config = toy_config(
        'configs/hirivit_s_in1k_448.py', toy_root / 'imagenet', work_dir,
        epochs=6, extra={
            'train_dataloader.batch_size': 2,
            'val_dataloader.batch_size': 3,
            'default_hooks.checkpoint.interval': 6,
            'custom_hooks.0.begin_epoch': 5,
        })
    run_tool('train.py', config)
    return config, work_dir / 'epoch_6.pth'


def test_toy_pretraining_saves_ema_weights(pretrained):
    _, checkpoint = pretrained
    ckpt = load_checkpoint_file(str(checkpoint))
    ema, raw = ckpt['state_dict'], ckpt['ema_state_dict']
    # The EMA (and distillation) started in the fifth epoch: two updates.
    assert int(raw['steps']) == 2
    keys = [k for k in ema if k.startswith('backbone.')
            and ema[k].is_floating_point()]
    assert keys and all(f'module.{k}' in raw for k in keys)
    # EMAHook swapped them: state_dict is the average, not the raw weights.
    assert any(not torch.equal(ema[k], raw[f'module.{k}']) for k in keys)


def _stage_outputs(backbone, x):
    """Every stage's output and the backbone's last output."""
    seen = []
    hooks = [stage.register_forward_hook(lambda m, i, o: seen.append(o))
             for stage in backbone.stages]
    with torch.no_grad():
        last = backbone.eval()(x)[-1]
    for hook in hooks:
        hook.remove()
    return seen, last


@pytest.mark.parametrize('config', [
    'configs/maskrcnn_hirivit_s_1x_coco.py',
    'configs/upernet_hirivit_s_160k_ade20k.py'
])
def test_converted_checkpoint_gives_the_classifier_backbone(
        pretrained, tmp_path, config):
    pretrain_config, checkpoint = pretrained
    converted = tmp_path / 'backbone.pth'
    run_tool('model_converters/hirivit_to_backbone.py', checkpoint,
             converted)

    classifier = build_from_config(pretrain_config)
    with mmengine_loading():
        load_checkpoint(classifier, str(checkpoint), map_location='cpu')
    cfg = Config.fromfile(repo_path(config))
    cfg.model.backbone.init_cfg.checkpoint = str(converted)
    dense = build_from_config(cfg)
    dense.init_weights()

    x = torch.randn(1, 3, 160, 224)
    want_stages, want_last = _stage_outputs(classifier.backbone, x)
    got_stages, got_last = _stage_outputs(dense.backbone, x)
    for want, got in zip(want_stages, got_stages):
        assert torch.equal(want, got)
    assert torch.equal(want_last, got_last)
    assert dense.backbone.out_indices[-1] == 4


def test_toy_pretraining_config_is_the_recipe_with_t():
    """configs/hirivit_t_in1k_demo_toy.py changes scale and data only."""
    toy = Config.fromfile(repo_path('configs/hirivit_t_in1k_demo_toy.py'))
    real = Config.fromfile(repo_path('configs/hirivit_s_in1k_448.py'))
    for key in ('custom_hooks', 'optim_wrapper', 'param_scheduler'):
        assert toy[key] == real[key]
    assert toy.model.alpha == real.model.alpha
    assert build_from_config(toy).backbone.arch_settings == \
        HIRIViT.parse_arch('t')
