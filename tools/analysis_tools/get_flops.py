"""Params and GFLOPs (multiply-accumulates, as ``mmengine.analysis`` counts
them) of HIRI-ViT backbones, classifiers or any config, in both conventions:
with the attention products (q k^T, attn v) counted, and skipped as
OpenMMLab's module-hook counter and the papers' detection tables count
(``mmhirivit.analysis.complexity``).

Examples::

    # the backbone of every arch at three sizes, as a markdown table
    python tools/analysis_tools/get_flops.py t s b l --sizes 224 448 768
    # the ImageNet classifier (backbone + pooling + linear head), by stage
    python tools/analysis_tools/get_flops.py s --classifier --shape 448 \
        --breakdown
    # the four-stage form (num_stages=4) that the 224 configs use
    python tools/analysis_tools/get_flops.py s --classifier --shape 224 \
        --num-stages 4
    # whole detectors from their configs, ours and a codebase's, one run
    python tools/analysis_tools/get_flops.py \
        configs/maskrcnn_hirivit_s_1x_coco.py --shape 1600 2666
    python tools/analysis_tools/get_flops.py \
        mmdet::swin/mask-rcnn_swin-t-p4-w7_fpn_1x_coco.py --shape 800 1333
"""
import argparse
import sys

import torch

from mmhirivit.analysis.builders import (build_classifier, build_for_counting,
                                         tensor_mode_inputs)
from mmhirivit.analysis.complexity import CONVENTIONS, complexity
from mmhirivit.models import HIRIViT
from mmhirivit.models.backbones.hirivit import NUM_STAGES


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument(
        'models', nargs='+',
        help='HIRI-ViT arch names (t, s, b, l, ...) and/or config files '
        '(paths, or mmdet::/mmseg::/mmpretrain:: names)')
    size = parser.add_mutually_exclusive_group()
    size.add_argument('--shape', type=int, nargs='+', metavar='H [W]',
                      help='one input size, H or H W (default 448)')
    size.add_argument('--sizes', type=int, nargs='+', metavar='S',
                      help='several square input sizes, one column each')
    parser.add_argument('--classifier', action='store_true',
                        help='arch names: count the ImageNet classifier '
                        '(pooling + linear head) instead of the backbone')
    parser.add_argument('--num-stages', type=int, choices=(4, 5), default=5,
                        help='arch names: 5, the paper\'s network, or 4, '
                        'its four-stage form for 224 inputs (default 5)')
    parser.add_argument('--breakdown', action='store_true',
                        help='also print params and GFLOPs per stage')
    return parser.parse_args()


def shapes_from_args(args):
    if args.sizes:
        return [(s, s) for s in args.sizes]
    shape = args.shape or [448]
    if len(shape) > 2:
        sys.exit(f'--shape takes H or H W, got {shape}')
    return [(shape[0], shape[-1])]


def build(name, classifier, num_stages=NUM_STAGES):
    """The model and the names of its stage modules, for a name or config
    (``num_stages`` for arch names)."""
    if name.endswith('.py'):
        if num_stages != NUM_STAGES:
            sys.exit(f'--num-stages {num_stages} applies to arch names; the '
                     f'config {name} sets backbone.num_stages itself')
        try:
            model, prefix = build_for_counting(name), 'backbone.'
        except FileNotFoundError as err:
            sys.exit(str(err))
    elif name.lower() in HIRIViT.arch_zoo:
        if classifier:
            model, prefix = build_classifier(
                name, num_stages=num_stages), 'backbone.'
        else:
            model, prefix = HIRIViT(arch=name, num_stages=num_stages,
                                    out_indices=4), ''
    else:
        sys.exit(f'{name!r} is neither a config file (.py) nor an arch; '
                 f'archs: {sorted(HIRIViT.arch_zoo)}')
    stages = [f'{prefix}stem'] + [
        f'{prefix}{part}.{i}' for i in range(NUM_STAGES)
        for part in ('downsamples', 'stages')
    ]
    return model.eval(), stages


def gflops(flops):
    """GFLOPs with two decimals, four below 1 GFLOP."""
    return f'{flops / 1e9:.{2 if flops >= 1e9 else 4}f}'


def main():
    args = parse_args()
    shapes = shapes_from_args(args)
    print(f'GFLOPs: multiply-accumulates, {CONVENTIONS[0]} (q k^T, attn v) '
          f'and {CONVENTIONS[1]} (as OpenMMLab\'s module-hook counter and '
          f'the papers\' detection tables)\n')
    header = '| model | params (M) | ' + ' | '.join(
        f'GFLOPs @ {h}x{w}, {convention}' for h, w in shapes
        for convention in CONVENTIONS) + ' |'
    print(header)
    print('|' + ' --- |' * (header.count('|') - 1), flush=True)
    breakdowns = []
    for name in args.models:
        model, stages = build(name, args.classifier, args.num_stages)
        if args.num_stages != NUM_STAGES:
            name = f'{name} (four-stage)'
        results = []
        for h, w in shapes:
            with torch.no_grad():
                results.append(
                    complexity(model, tensor_mode_inputs(model, h, w),
                               stages))
        print(f'| {name} | {results[0]["params"] / 1e6:.2f} | ' + ' | '.join(
            gflops(r[key]) for r in results
            for key in ('flops', 'flops_skipped')) + ' |', flush=True)
        if args.breakdown:
            breakdowns.append((name, shapes, results))
    for name, shapes, results in breakdowns:
        for (h, w), result in zip(shapes, results):
            print(f'\n{name} at {h}x{w}, by part:')
            print(f'| part | params (M) | GFLOPs, {CONVENTIONS[0]} | share | '
                  f'GFLOPs, {CONVENTIONS[1]} |')
            print('| --- | --- | --- | --- | --- |')
            for part, flops, skipped, params in result['breakdown']:
                print(f'| {part} | {params / 1e6:.2f} | {flops / 1e9:.3f} | '
                      f'{100 * flops / result["flops"]:.1f}% | '
                      f'{skipped / 1e9:.3f} |')


if __name__ == '__main__':
    main()
