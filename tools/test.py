"""Evaluate a checkpoint of a detector, segmenter or classifier config.

Example::

    python tools/test.py configs/maskrcnn_hirivit_s_1x_coco.py \
        work_dirs/maskrcnn_hirivit_s_1x_coco/epoch_12.pth
"""
import argparse
import os.path as osp

from mmengine.runner import Runner

import mmhirivit  # noqa: F401  (registers the models)
from mmhirivit.cli import (UsageError, add_common_args, check_data,
                           load_config, run_cli)
from mmhirivit.utils.checkpoint import mmengine_loading


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    add_common_args(parser)
    parser.add_argument('checkpoint', help='checkpoint file to evaluate')
    return parser.parse_args()


def main():
    args = parse_args()
    cfg = load_config(args)
    if not osp.isfile(args.checkpoint):
        raise UsageError(f'checkpoint file not found: {args.checkpoint}')
    check_data(cfg, ['test_dataloader'])
    # The evaluated weights come from the checkpoint, not the pretrained
    # backbone, so a missing ImageNet file does not matter here.
    cfg.model.get('backbone', {}).pop('init_cfg', None)
    cfg.load_from = args.checkpoint
    with mmengine_loading(trust=args.trust_checkpoint):
        Runner.from_cfg(cfg).test()


if __name__ == '__main__':
    run_cli(main)
