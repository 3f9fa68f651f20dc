"""Layer-wise learning-rate decay for detectors and segmenters."""
from functools import partial

from mmpretrain.engine.optimizers import \
    LearningRateDecayOptimWrapperConstructor

from mmhirivit.registry import OPTIM_WRAPPER_CONSTRUCTORS


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class BackboneLayerDecayOptimWrapperConstructor(
        LearningRateDecayOptimWrapperConstructor):
    """mmpretrain's layer-wise learning-rate decay for any model whose
    backbone has ``get_layer_depth()``.

    mmpretrain's classifiers pass ``get_layer_depth`` on to their backbone;
    mmdet's detectors and mmseg's segmentors do not, so mmpretrain's
    constructor refuses them. This one asks the backbone directly (its
    parameters under ``backbone.``); the neck and the heads are the last
    layer and keep the base learning rate. ``paramwise_cfg`` is
    mmpretrain's: ``layer_decay_rate``, ``norm_decay_mult``,
    ``bias_decay_mult``, ``flat_decay_mult``, ``custom_keys``.
    """

    def add_params(self, params, module, prefix='', get_layer_depth=None,
                   **kwargs):
        backbone = getattr(module, 'backbone', None)
        if get_layer_depth is None and not hasattr(
                module, 'get_layer_depth') and hasattr(
                    backbone, 'get_layer_depth'):
            get_layer_depth = partial(backbone.get_layer_depth,
                                      prefix='backbone.')
        super().add_params(params, module, prefix,
                           get_layer_depth=get_layer_depth, **kwargs)
