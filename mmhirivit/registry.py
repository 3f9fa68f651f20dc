"""The ``mmhirivit`` registry scope, hung off MMEngine's root registries.

Any OpenMMLab codebase resolves ``type='mmhirivit.X'`` through these, the way
mmdet configs resolve ``type='mmpretrain.ConvNeXt'``.
"""
from mmengine.registry import FUNCTIONS as MMENGINE_FUNCTIONS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import \
    OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import Registry

MODELS = Registry('model', parent=MMENGINE_MODELS, scope='mmhirivit',
                  locations=['mmhirivit.models'])
HOOKS = Registry('hook', parent=MMENGINE_HOOKS, scope='mmhirivit',
                 locations=['mmhirivit.engine'])
OPTIM_WRAPPER_CONSTRUCTORS = Registry(
    'optimizer wrapper constructor',
    parent=MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS, scope='mmhirivit',
    locations=['mmhirivit.engine'])
FUNCTIONS = Registry('function', parent=MMENGINE_FUNCTIONS, scope='mmhirivit',
                     locations=['mmhirivit.engine'])
MODEL_WRAPPERS = Registry('model_wrapper', parent=MMENGINE_MODEL_WRAPPERS,
                          scope='mmhirivit', locations=['mmhirivit.engine'])
