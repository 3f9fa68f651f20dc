"""HIRI-ViT for the OpenMMLab ecosystem.

Importing the package (configs do it through ``custom_imports``) registers its
models and hooks in the ``mmhirivit`` scope.

torch >= 2.6 loads checkpoints with ``weights_only=True`` by default, which
rejects the mmengine objects (message hubs, configs, numpy scalars) that
mmengine 0.10.7 stores in every checkpoint, so loading and ``--resume`` would
fail. mmengine's checkpoints are the user's own files, so the package restores
the full loader here, once, for every entry point that imports it. A value the
user set explicitly is kept.
"""
import os

os.environ.setdefault('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '1')

from .engine import *  # noqa: E402,F401,F403
from .models import *  # noqa: E402,F401,F403
from .version import __version__  # noqa: E402

__all__ = ['__version__']
