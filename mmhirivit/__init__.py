"""HIRI-ViT for the OpenMMLab ecosystem.

Importing the package (configs do it through ``custom_imports``) registers its
models and hooks in the ``mmhirivit`` scope. It changes no global behaviour:
checkpoints are loaded safely through :mod:`mmhirivit.utils.checkpoint`.
"""
from .engine import *  # noqa: F401,F403
from .models import *  # noqa: F401,F403
from .version import __version__

__all__ = ['__version__']
