"""Train a detector, segmenter or classifier from a config.

MMEngine picks the codebase (mmdet, mmseg, mmpretrain) from the config's
``default_scope``. Examples::

    python tools/train.py configs/maskrcnn_hirivit_s_1x_coco.py
    python tools/train.py CONFIG --resume               # latest checkpoint
    python tools/train.py CONFIG --resume work_dirs/x/epoch_3.pth
    python tools/train.py CONFIG --cfg-options model.backbone.init_cfg=None
    python tools/train.py CONFIG --amp                  # fp16 on GPUs
    python tools/train.py CONFIG --compile              # compiled backbone
"""
import argparse

import mmhirivit  # noqa: F401  (registers the models)
from mmhirivit.cli import (add_amp_arg, add_common_args, add_compile_arg,
                           load_config, resume_from, run_cli)
from mmhirivit.engine import build_runner
from mmhirivit.engine.setup import (check_data, check_pretrained,
                                    compile_backbone, enable_amp)
from mmhirivit.utils.checkpoint import mmengine_loading


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    add_common_args(parser)
    add_amp_arg(parser)
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from PATH, or from the latest checkpoint in the work '
        'dir when no PATH is given')
    add_compile_arg(parser)
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the learning rate by the actual batch '
                        'size (the config\'s auto_scale_lr.base_batch_size)')
    return parser.parse_args()


def main():
    args = parse_args()
    cfg = load_config(args)
    check_data(cfg, ['train_dataloader', 'val_dataloader'])
    if args.resume is None:
        check_pretrained(cfg)
    elif args.resume == 'auto':
        cfg.resume, cfg.load_from = True, resume_from(cfg)
    else:
        cfg.resume, cfg.load_from = True, args.resume
    enable_amp(cfg, args.amp)
    if args.auto_scale_lr:
        cfg.auto_scale_lr.enable = True
    with mmengine_loading(trust=args.trust_checkpoint):
        runner = build_runner(cfg)
        if args.compile:
            compile_backbone(runner.model)
        runner.train()


if __name__ == '__main__':
    run_cli(main)
