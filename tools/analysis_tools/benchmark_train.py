"""Training-step time, peak memory and inference speed of whole models, from
their configs, on synthetic inputs.

For each config: build the model as the config says (the backbone from
scratch: weights do not change the cost) with its optimiser, run
``--warmup`` untimed then ``--steps`` timed training steps on ``--batch``
synthetic images of ``--shape`` (random pixels and, for detectors, a few
random boxes and masks), and print the median step time and the peak memory
over the steps (the CUDA allocator's peak on a GPU, the resident-set growth
on the CPU; model, gradients and optimiser state included). Configs with a
HIRI-ViT or HRViT backbone run once per ``--with-cp`` setting (recomputation
in backward): ``off``, ``all``, or one flag per stage (``11000``: stages 1-2
of HIRI-ViT); by default ``off`` and ``all``.
``--infer N`` also times N single-image test-mode passes,
images per second as mmdet's ``benchmark.py`` reports it (data loading
excluded). All configs run in this process, one after the other; the first
row is the reference of the ratio columns.

Example (the table in docs/benchmarks.md)::

    python tools/analysis_tools/benchmark_train.py \
        configs/maskrcnn_hirivit_s_1x_coco.py \
        mmdet::swin/mask-rcnn_swin-t-p4-w7_fpn_1x_coco.py \
        --shapes 1600 2666 800 1333 --infer 2 --with-cp off 11000 all
"""
import argparse
import copy
import statistics

import torch
from mmengine.optim import build_optim_wrapper

import mmhirivit  # noqa: F401  (registers the models)
from mmhirivit.analysis.builders import build_from_scratch, quiet_mmengine
from mmhirivit.analysis.memory import peak_memory
from mmhirivit.analysis.timing import describe_device, time_calls
from mmhirivit.cli import UsageError, add_amp_arg, run_cli
from mmhirivit.engine.dropin import checked_class
from mmhirivit.engine.setup import enable_amp
from mmhirivit.utils.config import read_config


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split('\n\n', 1)[1])
    parser.add_argument('configs', nargs='+',
                        help='config files or mmdet::/mmseg::/mmpretrain:: '
                        'config names')
    parser.add_argument('--shape', type=int, nargs=2, metavar=('H', 'W'),
                        help='input shape of every config')
    parser.add_argument('--shapes', type=int, nargs='+',
                        help='one H W pair per config instead of --shape')
    parser.add_argument('--batch', type=int,
                        help='images per step (default: the config\'s '
                        'train_dataloader.batch_size, images per GPU)')
    parser.add_argument('--device', choices=['cpu', 'cuda'],
                        default='cuda' if torch.cuda.is_available() else 'cpu')
    add_amp_arg(parser)
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--steps', type=int, default=3)
    parser.add_argument('--infer', type=int, default=0, metavar='N',
                        help='also time N test-mode images (default 0)')
    parser.add_argument(
        '--with-cp', nargs='+', default=['off', 'all'], metavar='SETTING',
        help='recomputation settings to run backbones with: off, all, or a '
        'flag per stage (11000) (default: off all)')
    return parser.parse_args()


def shapes_of(args):
    if args.shapes:
        if len(args.shapes) != 2 * len(args.configs):
            raise UsageError(f'--shapes needs one H W pair per config '
                             f'({2 * len(args.configs)} numbers), got '
                             f'{len(args.shapes)}')
        return list(zip(args.shapes[::2], args.shapes[1::2]))
    if not args.shape:
        raise UsageError('give --shape H W, or --shapes with one H W pair '
                         'per config')
    return [tuple(args.shape)] * len(args.configs)


def synthetic_batch(codebase, num_classes, batch, height, width, with_mask):
    """A data batch as a dataloader gives it: uint8 images and data samples
    with ground truth."""
    shape = (height, width)
    if codebase == 'mmdet':
        from mmdet.testing import demo_mm_inputs
        return demo_mm_inputs(batch, [(3, height, width)] * batch,
                              num_items=[5] * batch, num_classes=num_classes,
                              with_mask=with_mask)
    inputs = [torch.randint(0, 256, (3, height, width), dtype=torch.uint8)
              for _ in range(batch)]
    meta = dict(img_shape=shape, ori_shape=shape, pad_shape=shape)
    if codebase == 'mmseg':
        from mmengine.structures import PixelData
        from mmseg.structures import SegDataSample
        samples = [SegDataSample(metainfo=meta, gt_sem_seg=PixelData(
            data=torch.randint(0, num_classes, (1, height, width))))
            for _ in range(batch)]
    else:
        from mmpretrain.structures import DataSample
        samples = [DataSample(metainfo=meta).set_gt_label(
            int(torch.randint(num_classes, ()))) for _ in range(batch)]
    return dict(inputs=inputs, data_samples=samples)


def _num_classes(model_cfg):
    for key in ('roi_head', 'bbox_head', 'decode_head', 'head'):
        head = model_cfg.get(key)
        while isinstance(head, dict) and 'num_classes' not in head:
            head = head.get('bbox_head') or head.get('mask_head')
        if isinstance(head, (list, tuple)):
            head = head[-1]
        if isinstance(head, dict) and 'num_classes' in head:
            return head['num_classes']
    return 80


def measure(cfg, shape, args):
    """Median step time (s), peak memory (MiB) and images/s (or None)."""
    codebase = cfg.default_scope
    with_mask = 'mask_head' in (cfg.model.get('roi_head') or {})
    batch_size = args.batch or cfg.train_dataloader.batch_size
    batch = synthetic_batch(codebase, _num_classes(cfg.model), batch_size,
                            *shape, with_mask)

    def step():
        try:
            model.train_step(batch, optim_wrapper)
        except ValueError as err:
            if 'more than 1 value per channel' not in str(err):
                raise
            raise UsageError(f'batch norm in this model needs more than one '
                             f'image per step ({err}); use --batch 2 or '
                             f'more') from None

    with peak_memory(args.device) as peak:
        model = build_from_scratch(cfg).to(args.device)
        with quiet_mmengine():
            optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
        model.train()
        times = time_calls(step, args.steps, args.warmup, args.device)
    fps = None
    if args.infer:
        model.eval()
        one = synthetic_batch(codebase, _num_classes(cfg.model), 1, *shape,
                              with_mask)
        with torch.no_grad():
            fps = args.infer / sum(time_calls(
                lambda: model.test_step(one), args.infer, 1, args.device))
    return statistics.median(times), peak['mib'], fps


def parse_cp(setting, num_stages):
    """The backbone's ``with_cp`` of a ``--with-cp`` setting."""
    if setting in ('off', 'all'):
        return setting == 'all'
    if len(setting) != num_stages or set(setting) - {'0', '1'}:
        raise UsageError(f'--with-cp {setting}: give off, all or one 0/1 '
                         f'flag per stage ({num_stages} here)')
    return [f == '1' for f in setting]


def rows_of(config, args):
    """``(name, cfg)`` of the runs of ``config``: for HIRI-ViT and HRViT
    backbones, one per ``--with-cp`` setting."""
    cfg = read_config(config)
    enable_amp(cfg, args.amp)
    backbone = cfg.model.get('backbone')
    if checked_class(backbone) is None:
        return [(config, cfg)]
    stages = 4 if checked_class(backbone)[1] == 'HRViT' else backbone.get(
        'num_stages', 5)
    rows = []
    for setting in args.with_cp:
        run = copy.deepcopy(cfg)  # Config.copy() shares the nested dicts
        run.model.backbone.with_cp = parse_cp(setting, stages)
        name = config if setting == 'off' else f'{config} (with_cp={setting})'
        rows.append((name, run))
    return rows


def main():
    args = parse_args()
    if args.steps < 1 or args.warmup < 0 or args.infer < 0 or (
            args.batch is not None and args.batch < 1):
        raise UsageError('--steps and --batch must be >= 1, --warmup and '
                         '--infer >= 0')
    if args.device == 'cuda' and not torch.cuda.is_available():
        raise UsageError('--device cuda: no CUDA device is visible')
    shapes = shapes_of(args)
    machine = describe_device(args.device)
    batch = args.batch or "the configs'"
    print(f'device: {args.device} ({machine}), batch {batch}, '
          f'{"amp " + args.amp if args.amp else "fp32"}, median of '
          f'{args.steps} steps after {args.warmup} warm-up')
    print('| config | shape | batch | step time (s) | peak memory (MiB) | '
          'images/s | time ratio | memory ratio |')
    print('| --- | --- | --- | --- | --- | --- | --- | --- |')
    reference = None
    for config, shape in zip(args.configs, shapes):
        try:
            runs = rows_of(config, args)
        except FileNotFoundError as err:
            raise UsageError(str(err)) from None
        for name, cfg in runs:
            step, mib, fps = measure(cfg, shape, args)
            reference = reference or (step, mib)
            print(f'| {name} | {shape[0]}x{shape[1]} | '
                  f'{args.batch or cfg.train_dataloader.batch_size} | '
                  f'{step:.2f} | '
                  f'{mib:.0f} | {f"{fps:.2f}" if fps else "-"} | '
                  f'{step / reference[0]:.2f} | {mib / reference[1]:.2f} |',
                  flush=True)


if __name__ == '__main__':
    run_cli(main)
