"""Build HIRI-ViT models outside a Runner, for the analysis tools."""
from functools import partial

import torch
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope

from mmhirivit.models import HIRIViT


def build_classifier(arch: str, num_classes: int = 1000):
    """The mmpretrain ImageNet classifier of an arch: backbone, global
    average pooling, linear head (design doc, "Classification head")."""
    width = HIRIViT._parse_arch(arch)['embed_dims'][-1]
    init_default_scope('mmpretrain')
    return MODELS.build(
        dict(
            type='mmpretrain.ImageClassifier',
            backbone=dict(type='mmhirivit.HIRIViT', arch=arch, out_indices=4),
            neck=dict(type='mmpretrain.GlobalAveragePooling'),
            head=dict(
                type='mmpretrain.LinearClsHead',
                num_classes=num_classes,
                in_channels=width)))


def build_from_config(config):
    """Build ``config``'s model (a path or a :class:`Config`) in its scope,
    with the top-level ``data_preprocessor`` merged in as the Runner does."""
    cfg = config if isinstance(config, Config) else Config.fromfile(config)
    init_default_scope(cfg.get('default_scope', 'mmengine'))
    model = cfg.model.copy()
    if cfg.get('data_preprocessor') is not None:
        model.setdefault('data_preprocessor', cfg.data_preprocessor)
    return MODELS.build(model)


def _data_samples(model, height, width):
    """Test-time data samples with the metainfo heads need, or None."""
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
    if hasattr(model, 'data_preprocessor'):
        model.forward = partial(
            type(model).forward, model,
            data_samples=_data_samples(model, height, width), mode='tensor')
    return (torch.zeros(1, 3, height, width), )
