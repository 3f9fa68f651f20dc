"""Train every arm of a study with several seeds, one clean process per run
(``tools/train.py``), and print its table with the machine and its load.

- ``fashion_mnist``: the paper's question in miniature on real photographs.
  At equal cost, does the five-stage network fed twice the resolution beat
  the four-stage one? Three arms, a ResNet-18 and an HRViT-b1 at matched
  cost (``configs/fashion_mnist/``), top-1 on the 10,000 test photographs
  as mean ± std, GFLOPs in both conventions, the token grids of stages 2-5.
  Needs ``make data``.
- ``demo``: the CPU demo (Mask R-CNN + HIRI-ViT-T on toy COCO) against its
  ResNet-18 reference, and once the control with HIRI-ViT-T frozen at its
  initialisation; bbox and segm mAP and wall time as median (range).

Examples::

    python tools/analysis_tools/seed_study.py fashion_mnist
    python tools/analysis_tools/seed_study.py demo --arms demo r18
    taskset -c 0 python tools/analysis_tools/seed_study.py fashion_mnist \\
        --threads 1                          # pinned to one core

Each finished run leaves ``result.json`` in its folder under ``--work-dir``
(default ``work_dirs/<study>_study``); running a study again reuses those
(the table says so) and trains only what is missing. docs/real_images.md
holds the results and how to read them.
"""
import argparse
import os.path as osp
import statistics

import torch

from mmhirivit.analysis.builders import build_for_counting, tensor_mode_inputs
from mmhirivit.analysis.complexity import complexity
from mmhirivit.analysis.studies import (Arm, RunError, Study, mean_std,
                                        median_range, minutes, run_study)
from mmhirivit.analysis.timing import describe_device
from mmhirivit.cli import UsageError, run_cli
from mmhirivit.datasets import toy_data
from mmhirivit.models import HIRIViT
from mmhirivit.utils.config import read_config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
FMNIST = 'configs/fashion_mnist/'
DEMO_TOY = dict(num_train=400, num_val=50, size=256, seed=0)  # tools/demo.py


def _toy_coco():
    root = osp.join(ROOT, 'data', 'toy', 'coco')
    if not osp.isfile(osp.join(root, 'annotations',
                               'instances_val2017.json')):
        toy_data.write_coco(root, **DEMO_TOY)


COCO_MAP = r'coco/{}_mAP: (-?[\d.]+)'
STUDIES = {
    'fashion_mnist': Study(
        arms={
            'a': Arm(FMNIST + 'hirivit_t4_fmnist_14px_in56.py',
                     'four-stage T, 14x14 information, input 56'),
            'b': Arm(FMNIST + 'hirivit_t_fmnist_14px_in112.py',
                     'five-stage T, 14x14 information, input 112'),
            'c': Arm(FMNIST + 'hirivit_t_fmnist_28px_in112.py',
                     'five-stage T, 28x28 photographs, input 112'),
            'ref': Arm(FMNIST + 'resnet18_w16_fmnist_28px_in32.py',
                       'ResNet-18 (CIFAR stem, width 16), 28x28, input 32'),
            'hrvit': Arm(FMNIST + 'hrvit_b1_fmnist_28px_in32.py',
                         'HRViT-b1 (stride-32 branch pooled), 28x28, '
                         'input 32'),
        },
        metrics={'top1': r'Epoch\(val\).*accuracy/top1: ([\d.]+)'}),
    'demo': Study(
        arms={
            'demo': Arm('configs/maskrcnn_hirivit_t_demo_toy.py',
                        'Mask R-CNN + HIRI-ViT-T (the demo)'),
            'r18': Arm('configs/maskrcnn_r18_demo_toy.py',
                       'Mask R-CNN + ResNet-18 (the reference)'),
            'frozen': Arm('configs/maskrcnn_hirivit_t_demo_toy.py',
                          'the demo with HIRI-ViT-T frozen at its '
                          'initialisation (control, run once)',
                          ('model.backbone.frozen_stages=5', ), seeds=(0, )),
        },
        metrics={'bbox_mAP': COCO_MAP.format('bbox'),
                 'segm_mAP': COCO_MAP.format('segm')},
        prepare=_toy_coco),
}


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split('\n\n', 1)[1])
    parser.add_argument('study', choices=list(STUDIES))
    parser.add_argument('--arms', nargs='+',
                        help='arms to run (default: all of the study)')
    parser.add_argument('--seeds', nargs='+', type=int,
                        help='seeds (default 0 1 2)')
    parser.add_argument('--work-dir', help='default: work_dirs/STUDY_study')
    parser.add_argument('--threads', type=int,
                        help='torch threads of each run (default: torch\'s)')
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='passed to every run, e.g. '
                        'train_cfg.max_epochs=1 for a smoke run')
    return parser.parse_args()


def classifier_cost(config):
    """Input side, params, GFLOPs in both conventions and, for HIRI-ViT,
    the token grids of stages 2-5 of the classifier of ``config``."""
    cfg = read_config(osp.join(ROOT, config))
    size = [step['scale'] for step in cfg.test_dataloader.dataset.pipeline
            if step['type'] == 'Resize'][-1]
    model = build_for_counting(cfg)
    with torch.no_grad():
        counted = complexity(model, tensor_mode_inputs(model, size, size))
    grids = '-'
    if isinstance(model.backbone, HIRIViT):
        settings = {k: v for k, v in cfg.model.backbone.items()
                    if k not in ('type', 'out_indices')}
        stages = HIRIViT(**settings, out_indices=(1, 2, 3, 4)).eval()
        with torch.no_grad():
            maps = stages(torch.zeros(1, stages.in_channels, size, size))
        grids = ', '.join(f'{m.shape[-2]}' for m in maps)
    return size, counted, grids


def fashion_mnist_table(study, results):
    print('| arm | what | input | stage 2-5 grids | params (M) | GFLOPs '
          '(counted / skipped) | top-1 % (mean ± std) | seeds: top-1 | '
          'wall time per run, mean (range) | CPU time per run |')
    print('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |')
    for name, runs in results.items():
        arm = study.arms[name]
        size, cost, grids = classifier_cost(arm.config)
        walls = [r['wall_s'] for r in runs]
        tops = ', '.join(f'{r["top1"]:.2f}' for r in runs)
        print(f'| {name} | {arm.what} | {size} | {grids} | '
              f'{cost["params"] / 1e6:.2f} | {cost["flops"] / 1e9:.4f} / '
              f'{cost["flops_skipped"] / 1e9:.4f} | '
              f'{mean_std([r["top1"] for r in runs])} | '
              f'{tops} | '
              f'{minutes(statistics.mean(walls))} ({minutes(min(walls))}-'
              f'{minutes(max(walls))}) | '
              f'{minutes(statistics.mean([r["cpu_s"] for r in runs]))} |')


def demo_table(study, results):
    print('| arm | what | runs | bbox mAP, median (range) | segm mAP, median '
          '(range) | wall time, median (range) | CPU time, median |')
    print('| --- | --- | --- | --- | --- | --- | --- |')
    for name, runs in results.items():
        walls = [r['wall_s'] for r in runs]
        print(f'| {name} | {study.arms[name].what} | {len(runs)} | '
              f'{median_range([r["bbox_mAP"] for r in runs])} | '
              f'{median_range([r["segm_mAP"] for r in runs])} | '
              f'{minutes(statistics.median(walls))} ({minutes(min(walls))}-'
              f'{minutes(max(walls))}) | '
              f'{minutes(statistics.median([r["cpu_s"] for r in runs]))} |')


TABLES = {'fashion_mnist': fashion_mnist_table, 'demo': demo_table}


def main():
    args = parse_args()
    study = STUDIES[args.study]
    unknown = sorted(set(args.arms or ()) - set(study.arms))
    if unknown:
        raise UsageError(f'{args.study} has no arm {unknown[0]!r}; its arms '
                         f'are {", ".join(study.arms)}')
    print(f'machine: {describe_device()}; runs with '
          f'{args.threads or torch.get_num_threads()} torch threads\n')
    try:
        results = run_study(
            ROOT, study, args.work_dir or f'work_dirs/{args.study}_study',
            args.arms, args.seeds, args.threads, args.cfg_options)
    except RunError as err:
        raise UsageError(str(err)) from None
    print()
    TABLES[args.study](study, results)


if __name__ == '__main__':
    run_cli(main)
