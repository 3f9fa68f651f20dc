"""Evaluate candidate HIRI-ViT archs on the paper's two cost constraints, in
one run, and print a table: how the arch zoo was chosen, to rerun and
challenge (docs/architecture.md, "Calibration").

For each candidate: params and GFLOPs of the ImageNet classifier at 448 (the
paper: S ~5.0) and 896 with the growth between them, and GFLOPs of the whole
Mask R-CNN and RetinaNet with that backbone at the paper's COCO scale
(``--det-shape``, default 1600x2666), each divided by the same detector with
Swin-T at half that size, the usual 800x1333 (mmdet's own Swin-T configs,
counted in this run; §5.2: at twice the resolution HIRI-ViT-S costs about
what a small four-stage backbone costs at the usual one). The Swin-T row
gives the classifier growth of mmpretrain's Swin-T for comparison. GFLOPs
are multiply-accumulates as ``tools/analysis_tools/get_flops.py`` counts
them, in both conventions: attention products (q k^T, attn v) counted (the
ImageNet costs and the growth), and skipped, as OpenMMLab's module-hook
counter and the papers' detection tables count.

Candidates are arch_zoo names, JSON dicts, or the entries of a JSON file
mapping names to either::

    python tools/analysis_tools/calibrate_zoo.py                # t s b l
    python tools/analysis_tools/calibrate_zoo.py \\
        --candidates tools/analysis_tools/zoo_candidates.json
    python tools/analysis_tools/calibrate_zoo.py s \\
        '{"embed_dims": [32, 64, 128, 320, 448], "depths": [2, 6, 9, 3, 6],
          "mlp_ratios": [8, 8, 8, 4, 4]}'
"""
import argparse
import json
import os.path as osp
import sys

import torch

from mmhirivit.analysis.builders import (build_classifier, build_for_counting,
                                         read_config, tensor_mode_inputs)
from mmhirivit.analysis.complexity import complexity
from mmhirivit.models import HIRIViT

CONFIGS = osp.join(osp.dirname(osp.abspath(__file__)), '..', '..', 'configs')
DETECTORS = {
    'Mask R-CNN': (osp.join(CONFIGS, 'maskrcnn_hirivit_s_1x_coco.py'),
                   'mmdet::swin/mask-rcnn_swin-t-p4-w7_fpn_1x_coco.py'),
    'RetinaNet': (osp.join(CONFIGS, 'retinanet_hirivit_s_1x_coco.py'),
                  'mmdet::swin/retinanet_swin-t-p4-w7_fpn_1x_coco.py'),
}
SWIN_T_CLASSIFIER = 'mmpretrain::swin_transformer/swin-tiny_16xb64_in1k.py'
CLS_SIZES = (448, 896)


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument('archs', nargs='*',
                        help='arch_zoo names or JSON arch dicts')
    parser.add_argument('--candidates', metavar='JSON',
                        help='a JSON file mapping names to archs')
    parser.add_argument('--det-shape', type=int, nargs=2, default=(1600, 2666),
                        metavar=('H', 'W'),
                        help='detector input size (default 1600 2666); '
                        'Swin-T runs at half of it')
    return parser.parse_args()


def candidates_from_args(args):
    """``(name, arch)`` pairs, each arch checked by building its backbone."""
    pairs = []
    if args.candidates:
        try:
            with open(args.candidates) as f:
                pairs += list(json.load(f).items())
        except (OSError, ValueError) as err:
            sys.exit(f'--candidates {args.candidates}: {err}')
    for text in args.archs:
        try:
            arch = json.loads(text) if text.lstrip().startswith('{') else text
        except ValueError as err:
            sys.exit(f'{text!r} is not a valid JSON arch dict: {err}')
        pairs.append((text if isinstance(arch, str) else 'custom', arch))
    if not pairs:
        pairs = [(name, name) for name in ('t', 's', 'b', 'l')]
    for name, arch in pairs:
        try:
            HIRIViT(arch=arch)
        except (TypeError, ValueError) as err:
            sys.exit(f'candidate {name!r}: {err}')
    return pairs


def gflops(model, height, width):
    """``(counted, skipped, params)``: GFLOPs with the attention products
    counted and skipped, and M params."""
    with torch.no_grad():
        result = complexity(model, tensor_mode_inputs(model, height, width))
    return (result['flops'] / 1e9, result['flops_skipped'] / 1e9,
            result['params'] / 1e6)


def detector_with(config, arch):
    """``config`` (a HIRI-ViT detector) with ``arch`` as its backbone."""
    cfg = read_config(config)
    cfg.model.backbone.arch = arch
    cfg.model.neck.in_channels = HIRIViT.parse_arch(arch)['embed_dims'][1:]
    return build_for_counting(cfg)


def fmt(value, digits=2):
    return f'{value:.{digits}f}'


def main():
    args = parse_args()
    pairs = candidates_from_args(args)
    det_h, det_w = args.det_shape
    swin_h, swin_w = det_h // 2, det_w // 2
    swin = {
        name: gflops(build_for_counting(ref), swin_h, swin_w)[:2]
        for name, (_, ref) in DETECTORS.items()
    }
    header = ['arch', 'embed_dims', 'depths', 'mlp_ratios', 'params (M)'] + [
        f'GFLOPs @ {s}, {convention}' for s in CLS_SIZES
        for convention in ('counted', 'skipped')
    ] + [f'{CLS_SIZES[1]} / {CLS_SIZES[0]}, counted'] + [
        col for name in DETECTORS for convention in ('counted', 'skipped')
        for col in (f'{name} @ {det_h}x{det_w}, {convention}', '/ Swin-T')
    ]
    print('GFLOPs: attention products (q k^T, attn v) counted, and skipped '
          "as OpenMMLab's module-hook counter and the papers' detection "
          'tables count\n')
    print('| ' + ' | '.join(header) + ' |')
    print('|' + ' --- |' * len(header), flush=True)

    swin_cls = build_for_counting(read_config(SWIN_T_CLASSIFIER))
    cls = [gflops(swin_cls, s, s) for s in CLS_SIZES]
    print(f'| Swin-T (mmdet/mmpretrain, detectors at {swin_h}x{swin_w}) '
          f'| | | | {fmt(cls[0][2])} | ' +
          ' | '.join(fmt(f) for c in cls for f in c[:2]) +
          f' | {fmt(cls[1][0] / cls[0][0])} | ' +
          ' | '.join(f'{fmt(f, 1)} | 1.00' for name in DETECTORS
                     for f in swin[name]) + ' |', flush=True)
    for name, arch in pairs:
        settings = HIRIViT.parse_arch(arch)
        classifier = build_classifier(arch).eval()
        cls = [gflops(classifier, s, s) for s in CLS_SIZES]
        dets = [
            gflops(detector_with(config, arch), det_h, det_w)[:2]
            for config, _ in DETECTORS.values()
        ]
        row = [name] + [
            ', '.join(str(v) for v in settings[key])
            for key in ('embed_dims', 'depths', 'mlp_ratios')
        ] + [fmt(cls[0][2])] + [fmt(f) for c in cls for f in c[:2]] + [
            fmt(cls[1][0] / cls[0][0])
        ] + [
            col for det, ref in zip(dets, DETECTORS)
            for f, f_swin in zip(det, swin[ref])
            for col in (fmt(f, 1), fmt(f / f_swin))
        ]
        print('| ' + ' | '.join(row) + ' |', flush=True)


if __name__ == '__main__':
    main()
