"""Time the training steps of a config on this machine, part by part.

Builds the model, optimizer and training dataloader from CONFIG as
``tools/train.py`` does, runs ``--warmup`` untimed and ``--steps`` timed
``train_step`` calls (forward, backward and update), and prints the median
step time and the mean forward time of each part of the model: each child
module of the model, or, where the model never calls a child's own forward
(mmdet's RoI heads), that child's children. ``--profile`` adds
torch.profiler's table of the most expensive ops over the timed steps.
``--compile`` compiles the backbone as ``tools/train.py --compile`` does.
The Runner's logs go to a temporary folder unless ``--work-dir`` is given.

Step times depend on the state of training: the number of positive RoIs, for
one, grows as the RPN learns, so a model at initialisation steps faster than
one mid-way. ``--checkpoint`` loads trained weights first.

Example::

    python tools/analysis_tools/train_step_time.py \
        configs/maskrcnn_hirivit_t_demo_toy.py --steps 12
    python tools/analysis_tools/train_step_time.py \
        configs/maskrcnn_hirivit_t_demo_toy.py --steps 12 --compile
    python tools/analysis_tools/train_step_time.py \
        configs/maskrcnn_hirivit_t_demo_toy.py --profile \
        --checkpoint work_dirs/maskrcnn_hirivit_t_demo_toy/iter_920.pth
"""
import argparse
import contextlib
import statistics
import tempfile

import torch
from mmengine.runner import load_checkpoint

import mmhirivit  # noqa: F401  (registers the models)
from mmhirivit.analysis.timing import (describe_device, forward_times,
                                       time_calls)
from mmhirivit.cli import (UsageError, add_common_args, add_compile_arg,
                           load_config, run_cli)
from mmhirivit.engine import build_runner
from mmhirivit.engine.setup import check_data, compile_backbone
from mmhirivit.utils.checkpoint import mmengine_loading


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    add_common_args(parser)
    parser.add_argument('--steps', type=int, default=12,
                        help='timed training steps')
    parser.add_argument('--warmup', type=int, default=3,
                        help='untimed training steps before them')
    parser.add_argument('--checkpoint',
                        help='weights to load before timing (default: the '
                        "model's initialisation without pretrained weights)")
    parser.add_argument('--profile', action='store_true',
                        help='also print the most expensive ops')
    add_compile_arg(parser)
    return parser.parse_args()


def time_parts(model):
    """Record the forward time of each part of ``model`` (see the module
    docstring) into a dict of lists, filled while the model runs."""
    return forward_times(
        ((sub_name, module) for name, child in model.named_children()
         for sub_name, module in [(name, child), *(
             (f'{name}.{n}', m) for n, m in child.named_children())]),
        during=model)[0]


def parts_to_report(times):
    """Each child that ran, or the grandchildren of one that did not."""
    children = {n for n in times if '.' not in n}
    return [
        n for n in times
        if n in children or n.split('.')[0] not in children
    ]


def main():
    args = parse_args()
    if args.steps < 1 or args.warmup < 0:
        raise UsageError(f'--steps must be >= 1 and --warmup >= 0, got '
                         f'{args.steps} and {args.warmup}')
    with tempfile.TemporaryDirectory() as scratch:
        if args.work_dir is None:  # the Runner's logs are of no use here
            args.work_dir = scratch
        time_steps(args)


def time_steps(args):
    cfg = load_config(args)
    check_data(cfg, ['train_dataloader'])
    runner = build_runner(cfg)
    model = runner.model
    if args.checkpoint:
        with mmengine_loading(trust=args.trust_checkpoint):
            load_checkpoint(model, args.checkpoint, map_location='cpu')
    model.train()
    if args.compile:  # as tools/train.py --compile
        compile_backbone(model)
    optim_wrapper = runner.build_optim_wrapper(cfg.optim_wrapper)
    batches = iter(runner.build_dataloader(cfg.train_dataloader))

    device = next(model.parameters()).device

    def step():  # the data loading before it is not timed
        data = next(batches)
        return lambda: model.train_step(data, optim_wrapper)

    machine = describe_device(device)  # the load before the timing
    for _ in range(args.warmup):
        step()()
    parts = time_parts(model)
    steps = []
    profiler = (torch.profiler.profile(record_shapes=True)
                if args.profile else contextlib.nullcontext())
    with profiler as prof:
        for _ in range(args.steps):
            steps += time_calls(step(), 1, device=device)

    batch = cfg.train_dataloader.batch_size
    compiled = ', backbone compiled' if args.compile else ''
    print(f'{args.config}: batch {batch}, {machine}, '
          f'{args.steps} steps after {args.warmup}{compiled}')
    print(f'  step (forward, backward, update): median '
          f'{statistics.median(steps):.3f} s, '
          f'min {min(steps):.3f} s, max {max(steps):.3f} s')
    for name in parts_to_report(parts):
        mean = sum(parts[name]) / args.steps
        print(f'  forward of {name:<30} {mean:.3f} s per step')
    if args.profile:
        print(prof.key_averages(group_by_input_shape=True).table(
            sort_by='self_cpu_time_total', row_limit=20,
            max_name_column_width=32, max_shapes_column_width=80))


if __name__ == '__main__':
    run_cli(main)
