"""Reading configs, ours and the codebases' own."""
import os.path as osp

from mmengine.config import Config


def read_config(path: str) -> Config:
    """A config from a file, or from a codebase's own configs with the
    ``mmdet::swin/mask-rcnn_swin-t-p4-w7_fpn_1x_coco.py`` form that ``_base_``
    accepts. Raises FileNotFoundError naming a missing file."""
    if '::' in path:
        from mmengine.hub import get_config
        return get_config(path)
    if not osp.isfile(path):
        raise FileNotFoundError(f'config not found: {path}')
    return Config.fromfile(path)
