"""Build models outside a Runner, for measuring and exporting them."""
import logging
from contextlib import contextmanager
from functools import partial

import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.registry import MODELS, init_default_scope

from mmhirivit.models import HIRIViT
from mmhirivit.utils.config import read_config


def build_classifier(arch: str, num_classes: int = 1000,
                     num_stages: int = 5):
    """The mmpretrain ImageNet classifier of an arch: backbone (the
    five-stage network, or its four-stage form with ``num_stages=4``),
    global average pooling, linear head (docs/architecture.md,
    "Classification head")."""
    width = HIRIViT.parse_arch(arch)['embed_dims'][-1]
    init_default_scope('mmpretrain')
    return MODELS.build(
        dict(
            type='mmpretrain.ImageClassifier',
            backbone=dict(type='mmhirivit.HIRIViT', arch=arch,
                          num_stages=num_stages, out_indices=4),
            neck=dict(type='mmpretrain.GlobalAveragePooling'),
            head=dict(
                type='mmpretrain.LinearClsHead',
                num_classes=num_classes,
                in_channels=width)))


def build_from_config(config):
    """Build ``config``'s model (a path or a :class:`Config`) in its scope,
    with the top-level ``data_preprocessor`` merged in as the Runner does."""
    cfg = config if isinstance(config, Config) else read_config(config)
    init_default_scope(cfg.get('default_scope', 'mmengine'))
    model = cfg.model.copy()
    if cfg.get('data_preprocessor') is not None:
        model.setdefault('data_preprocessor', cfg.data_preprocessor)
    return MODELS.build(model)


def build_from_scratch(config):
    """``config``'s model with the backbone built from scratch (no
    ``init_cfg`` checkpoint to read), initialised as the Runner would (some
    heads decode boxes from their weights), for measuring its cost."""
    cfg = config if isinstance(config, Config) else read_config(config)
    cfg.model.backbone.init_cfg = None
    model = build_from_config(cfg)
    with quiet_mmengine():
        model.init_weights()
    return model


def build_for_counting(config):
    """``config``'s model in eval mode, for counting params and FLOPs
    (weights do not change the count)."""
    return build_from_scratch(config).eval()


@contextmanager
def quiet_mmengine():
    """Within the block, MMEngine's logger reports warnings only (it logs
    every parameter's initialisation and decay setting at INFO level)."""
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def data_samples(model, height, width):
    """Test-time data samples for one image of ``height`` x ``width`` with
    the metainfo heads need (at scale 1), or None for plain modules."""
    codebase = type(model).__module__.split('.')[0]
    if codebase == 'mmdet':
        from mmdet.structures import DetDataSample as sample_type
    elif codebase == 'mmseg':
        from mmseg.structures import SegDataSample as sample_type
    else:
        return None
    shape = (height, width)
    sample = sample_type(
        metainfo=dict(img_shape=shape, ori_shape=shape, pad_shape=shape,
                      batch_input_shape=shape, scale_factor=(1., 1.)))
    if codebase == 'mmdet':
        # Some heads (Sparse R-CNN) unpack ground truth even in tensor mode.
        from mmengine.structures import InstanceData
        sample.gt_instances = InstanceData(
            bboxes=torch.zeros(0, 4), labels=torch.zeros(0, dtype=torch.long))
    return [sample]


def tensor_mode_inputs(model, height: int, width: int):
    """Make ``model(x)`` run its ``mode='tensor'`` forward on one image of
    ``height`` x ``width`` and return ``(x, )``; plain modules are untouched.
    """
    channels = 3
    if hasattr(model, 'data_preprocessor'):
        model.forward = partial(
            type(model).forward, model,
            data_samples=data_samples(model, height, width), mode='tensor')
        mean = getattr(model.data_preprocessor, 'mean', None)
        if isinstance(mean, torch.Tensor):  # one value per channel
            channels = mean.numel()
    return (torch.zeros(1, channels, height, width), )
