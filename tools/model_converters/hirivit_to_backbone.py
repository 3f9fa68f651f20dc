"""Convert an ImageNet-pretraining checkpoint to backbone weights (HIRI-ViT,
HRViT, or HIRI-ViT's front around another backbone).

The output is what the COCO and ADE20K configs load through
``init_cfg=dict(type='Pretrained', checkpoint=DST, prefix='backbone.')``::

    python tools/model_converters/hirivit_to_backbone.py \\
        work_dirs/hirivit_s_in1k_448/epoch_300.pth \\
        checkpoints/hirivit_s_in1k_448_backbone.pth

It also takes the checkpoints of the HRViT configs
(``configs/hrvit/hrvit_*_in1k_224.py``, for ``configs/hrvit``'s dense
configs) and of the ``mmhirivit.HighResFront`` configs
(``configs/highres_front/*_in1k_448.py``), whose weights it writes as they
are.

SRC may be an mmpretrain/MMEngine checkpoint (EMA weights when trained with
EMAHook or EMADistillHook, else the raw ones; choose with --weights), a
DeiT/timm-style dict (``model`` / ``model_ema`` / ``state_dict_ema``), or a
bare state dict, with or without ``module.`` / ``backbone.`` prefixes. The
arch is detected from the tensor shapes unless --arch is given.
"""
import argparse

from mmhirivit.cli import add_conversion_args, run_cli
from mmhirivit.converters.convert import FRONT, convert_to_backbone


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split('\n\n', 1)[1])
    parser.add_argument('src', help='ImageNet-pretraining checkpoint')
    parser.add_argument('dst', help='backbone weights to write')
    parser.add_argument(
        '--arch', help="arch name (HIRI-ViT: t, s, b, l; HRViT: b1, b2, b3) "
        "or a JSON dict of a custom arch; detected from the weights when "
        "omitted")
    add_conversion_args(parser)
    return parser.parse_args()


def main():
    args = parse_args()
    meta, dropped = convert_to_backbone(args.src, args.dst, args.arch,
                                        args.weights, args.force,
                                        args.trust_checkpoint)
    if dropped:
        print(f'not backbone weights, left out ({len(dropped)}): '
              f'{", ".join(dropped)}')
    name = meta['arch'] if meta['arch'] == FRONT else \
        f'{meta["backbone"]}-{meta["arch"]}'
    print(f'wrote {args.dst}: {name} backbone, {meta["weights"]} weights '
          f'from {meta["source"]} [{meta["source_entry"]}]')
    if meta.get('num_stages') == 4:
        print('these are weights of the four-stage form (a 224 model): use '
              'them with backbone=dict(num_stages=4); the COCO and ADE20K '
              'configs build the five-stage network, whose stem and stage 1 '
              'they do not have')


if __name__ == '__main__':
    run_cli(main)
