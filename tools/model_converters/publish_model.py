"""Publish a checkpoint: weights and plain metadata, hash in the name.

The output is what OpenMMLab's own tools load with torch's default
``weights_only=True`` (mmdet's, mmseg's and mmpretrain's ``tools/test.py``,
their inferencers, ``load_from``)::

    python tools/model_converters/publish_model.py \\
        work_dirs/maskrcnn_hirivit_s_1x_coco/epoch_12.pth \\
        checkpoints/maskrcnn_hirivit_s_1x_coco.pth

writes ``checkpoints/maskrcnn_hirivit_s_1x_coco-<first 8 hex digits of its
SHA-256>.pth``. A checkpoint of ``tools/train.py`` also holds the optimizer,
the schedulers and MMEngine's message hub, whose objects torch's default
loader refuses; they are left out, as is the config text MMEngine stores.
With EMA (``EMAHook``, ``EMADistillHook``) the EMA weights are published
unless --weights raw.
"""
import argparse

from mmhirivit.cli import add_conversion_args, run_cli
from mmhirivit.converters.convert import publish_checkpoint


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split('\n\n', 1)[1])
    parser.add_argument('src', help='checkpoint to publish')
    parser.add_argument('dst', help='output path; the hash goes before its '
                        'extension')
    add_conversion_args(parser)
    return parser.parse_args()


def main():
    args = parse_args()
    path, meta, dropped = publish_checkpoint(args.src, args.dst,
                                             args.weights, args.force,
                                             args.trust_checkpoint)
    if dropped:
        print(f'left out ({len(dropped)}): {", ".join(dropped)}')
    print(f'wrote {path}: {meta["published"]["weights"]} weights from '
          f'{args.src} [{meta["published"]["source_entry"]}], meta '
          f'{", ".join(sorted(meta))}')


if __name__ == '__main__':
    run_cli(main)
