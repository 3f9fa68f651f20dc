"""The COCO and ADE20K configs hold what the paper's recipes say (§5.2,
§5.3) and what the double-resolution rule derives from mmdet's and mmseg's
usual sizes, and pass the drop-in checks without a warning. Settings a config
inherits unchanged from an mmdet/mmseg base are those codebases' and are not
checked here; the ImageNet recipes are checked in test_pretraining.py."""
import glob
import os.path as osp

import pytest
from helpers import repo_path
from mmengine.config import Config

from mmhirivit.engine.dropin import check_backbone

COCO_CONFIGS = sorted(
    osp.basename(p) for p in glob.glob(repo_path('configs', '*_coco.py')))
ADE_CONFIGS = sorted(
    osp.basename(p) for p in glob.glob(repo_path('configs', '*_ade20k.py')))
# 8 GPUs x 2 images (§5.2, §5.3: batch 16).
GPUS = 8
# mmdet's 1333 x 800 and multi-scale [480, 800], doubled.
TEST_SCALE = (2666, 1600)
MULTI_SCALE = [(2666, 960), (2666, 1600)]


def _config(name):
    return Config.fromfile(repo_path('configs', name))


def _arch(name):
    """The arch a config's file name states: ``maskrcnn_hirivit_s_...``."""
    return name.split('hirivit_')[1].split('_')[0]


def _resize(pipeline):
    [step] = [s for s in pipeline if s.type.endswith('Resize')]
    return step


def _assert_backbone(cfg, name):
    """The arch of the file name, stages 2-5 out (strides 8-64), the
    converter's ImageNet-448 weights of that arch."""
    backbone = cfg.model.backbone
    arch = _arch(name)
    assert backbone.type == 'mmhirivit.HIRIViT' and backbone.arch == arch
    assert tuple(backbone.out_indices) == (1, 2, 3, 4)
    if name.endswith('_coco.py'):  # stages 1-3 recomputed at 1600x2666
        assert tuple(backbone.with_cp) == (True, True, True, False, False)
    assert backbone.init_cfg == dict(
        type='Pretrained', prefix='backbone.',
        checkpoint=f'checkpoints/hirivit_{arch}_in1k_448_backbone.pth')
    assert check_backbone(cfg) == []


@pytest.mark.parametrize('name', COCO_CONFIGS)
def test_coco_recipe(name):
    """AdamW, batch 16; 1x: 12 epochs at shorter side 1600 (longer at most
    2666); 3x: 36 epochs at shorter side 960-1600; tested at 1600; padded to
    the largest stride."""
    cfg = _config(name)
    _assert_backbone(cfg, name)
    assert cfg.optim_wrapper.optimizer.type == 'AdamW'
    assert cfg.train_dataloader.batch_size * GPUS == 16
    assert cfg.auto_scale_lr.base_batch_size == 16
    assert cfg.model.data_preprocessor.pad_size_divisor == 64
    train = _resize(cfg.train_dataloader.dataset.pipeline)
    if '_3x_' in name:
        assert cfg.train_cfg.max_epochs == 36
        assert train.type == 'RandomResize'
        assert [tuple(s) for s in train.scale] == MULTI_SCALE
    else:
        assert '_1x_' in name and cfg.train_cfg.max_epochs == 12
        assert (train.type, tuple(train.scale)) == ('Resize', TEST_SCALE)
    assert train.keep_ratio
    for loader in ('val_dataloader', 'test_dataloader'):
        test = _resize(cfg[loader].dataset.pipeline)
        assert (test.type, tuple(test.scale)) == ('Resize', TEST_SCALE)


@pytest.mark.parametrize('name', ADE_CONFIGS)
def test_ade20k_recipe(name):
    """UPerNet, 160k iterations, AdamW lr 6e-5 and weight decay 0.01, batch
    16, 1500 linear warm-up iterations then linear decay, flip, photometric
    distortion and random rescale [0.5, 2.0]; crops and test size twice
    mmseg's 512 x 2048."""
    cfg = _config(name)
    _assert_backbone(cfg, name)
    assert cfg.model.decode_head.type == 'UPerHead'
    assert cfg.train_cfg.max_iters == 160000
    optimizer = cfg.optim_wrapper.optimizer
    assert (optimizer.type, optimizer.lr, optimizer.weight_decay) == \
        ('AdamW', 6e-5, 0.01)
    assert cfg.train_dataloader.batch_size * GPUS == 16
    warmup, decay = cfg.param_scheduler
    assert (warmup.type, warmup.begin, warmup.end) == ('LinearLR', 0, 1500)
    assert (decay.type, decay.power, decay.begin, decay.end) == \
        ('PolyLR', 1.0, 1500, 160000)
    pipeline = cfg.train_dataloader.dataset.pipeline
    steps = {step.type: step for step in pipeline}
    assert {'RandomFlip', 'PhotoMetricDistortion', 'RandomCrop'} <= set(steps)
    rescale = steps['RandomResize']
    assert tuple(rescale.ratio_range) == (0.5, 2.0)
    assert tuple(rescale.scale) == (4096, 1024)
    assert tuple(steps['RandomCrop'].crop_size) == (1024, 1024)
    test = _resize(cfg.test_dataloader.dataset.pipeline)
    assert tuple(test.scale) == (4096, 1024)
