"""Cost, latency and peak memory of HIRI-ViT-S against Swin-T (mmdet),
ConvNeXt-T (mmpretrain), PVTv2-b2 (mmdet) and HRViT-b1/b2/b3 (its
high-resolution peer), side by side, over input sizes;
and of PVTv2-b2, DaViT-T and HRNet-W18 with and without HIRI-ViT's front
(``-HR``: ``mmhirivit.HighResFront``, paper §5.7).

HIRI-ViT-S runs as shipped for inference (channels-last, BN folded by
``switch_to_deploy()``); ``HIRI-ViT-S-BN`` is the same network with its BN
(what folding buys) and ``HIRI-ViT-S-NCHW`` the plain eager NCHW network
with its BN, all of the same cost. Latency is the median of
``--repeats`` timed forward passes (no grad, eval mode) after ``--warmup``
untimed ones; the models take turns pass by pass, so a change in the
machine's load falls on all of them. ``--threads`` repeats the timing with
each CPU thread count. Images per second are ``--batch`` over the latency.
Peak memory is the CUDA allocator's peak on a GPU; on the CPU (Linux) it is
the peak resident-set growth of one forward pass (VmHWM after resetting it
through /proc/self/clear_refs), each measured in a fresh process because the
CPU allocator keeps no peak statistic. GFLOPs are multiply-accumulates as
``mmhirivit.analysis.complexity`` counts them, with the attention products
counted and skipped (OpenMMLab's module-hook convention). The ratio columns
are to the first model. Below the tables, HIRI-ViT-S at twice each size is
set against Swin-T at that size, and each ``-HR`` model at twice each size
against its plain backbone at that size.

Example (docs/benchmarks.md)::

    python tools/analysis_tools/benchmark_backbone.py --sizes 224 448 \
        --threads 2 1 --repeats 9
    python tools/analysis_tools/benchmark_backbone.py --sizes 224 448 \
        --device cuda --batch 64 --fp16 --models HIRI-ViT-S Swin-T
    python tools/analysis_tools/benchmark_backbone.py --sizes 224 448 \
        --threads 2 --models PVTv2-b2 PVTv2-b2-HR DaViT-T DaViT-T-HR \
        HRNet-W18 HRNet-W18-HR
    python tools/analysis_tools/benchmark_backbone.py --sizes 224 448 \
        --threads 2 1 --models HIRI-ViT-S HRViT-b2 HRViT-b3 Swin-T
"""
import argparse
import multiprocessing as mp
import statistics
from contextlib import nullcontext

import torch

import mmhirivit  # noqa: F401  (registers HIRIViT and HRViT)
from mmhirivit.analysis.complexity import complexity
from mmhirivit.analysis.memory import peak_memory
from mmhirivit.analysis.timing import describe_device, time_calls

HIRIVIT_S = dict(type='mmhirivit.HIRIViT', arch='s', out_indices=(1, 2, 3, 4))
PVTV2_B2 = dict(type='mmdet.PyramidVisionTransformerV2', embed_dims=64,
                num_layers=[3, 4, 6, 3])
DAVIT_T = dict(type='mmpretrain.DaViT', arch='t', pad_small_map=True,
               out_indices=(0, 1, 2, 3))
HRNET_W18 = dict(type='mmpretrain.HRNet', arch='w18')


def _front(backbone):
    """``backbone`` behind HIRI-ViT's front (paper §5.7)."""
    return dict(type='mmhirivit.HighResFront', backbone=backbone)


MODELS = {
    'HIRI-ViT-S': HIRIVIT_S,
    'HIRI-ViT-S-BN': HIRIVIT_S,
    'HIRI-ViT-S-NCHW': dict(HIRIVIT_S, channels_last=False),
    'Swin-T': dict(type='mmdet.SwinTransformer', embed_dims=96,
                   depths=[2, 2, 6, 2], num_heads=[3, 6, 12, 24],
                   window_size=7, out_indices=(0, 1, 2, 3)),
    'ConvNeXt-T': dict(type='mmpretrain.ConvNeXt', arch='tiny',
                       out_indices=(0, 1, 2, 3), gap_before_final_norm=False),
    'PVTv2-b2': PVTV2_B2,
    'PVTv2-b2-HR': _front(PVTV2_B2),
    'DaViT-T': DAVIT_T,
    'DaViT-T-HR': _front(DAVIT_T),
    'HRNet-W18': HRNET_W18,
    'HRNet-W18-HR': _front(HRNET_W18),
    **{f'HRViT-{arch}': dict(type='mmhirivit.HRViT', arch=arch)
       for arch in ('b1', 'b2', 'b3')},
}
DEFAULT_MODELS = ['HIRI-ViT-S', 'HIRI-ViT-S-NCHW', 'Swin-T', 'ConvNeXt-T',
                  'PVTv2-b2']
DEPLOYED = {'HIRI-ViT-S'}  # BN folded for inference (switch_to_deploy)
# Each model at twice the input size against the other at the size: HIRI-ViT
# against Swin-T, and each backbone behind the front against itself.
PAIRS = [('HIRI-ViT-S', 'Swin-T'), ('HIRI-ViT-S', 'HRViT-b2'),
         ('HIRI-ViT-S', 'HRViT-b3'), ('PVTv2-b2-HR', 'PVTv2-b2'),
         ('DaViT-T-HR', 'DaViT-T'), ('HRNet-W18-HR', 'HRNet-W18')]
# Input sizes must be multiples of the largest stride: 64 behind the front
# (DaViT's down-sampling refuses odd grids); the others pad or round.
SIZE_MULTIPLE = {name: 64 for name in MODELS if name.endswith('-HR')}


def takes(name, size):
    return size % SIZE_MULTIPLE.get(name, 1) == 0


def build(name):
    import mmdet.models  # noqa: F401
    import mmpretrain.models  # noqa: F401
    from mmengine.registry import MODELS as REGISTRY
    model = REGISTRY.build(MODELS[name])
    model.eval()  # not chained: mmdet's SwinTransformer.train() returns None
    if name in DEPLOYED:
        model.switch_to_deploy()
    return model


def latencies_ms(models, x, args):
    """Median latency (ms) of each model on ``x``, the models taking turns
    pass by pass."""
    times = {name: [] for name in models}
    context = torch.autocast(x.device.type, torch.float16) if args.fp16 \
        else nullcontext()
    with torch.no_grad(), context:
        for model in models.values():
            time_calls(lambda: model(x), 0, args.warmup, x.device)
        for _ in range(args.repeats):
            for name, model in models.items():
                times[name] += time_calls(lambda: model(x), 1,
                                          device=x.device)
    return {name: 1e3 * statistics.median(t) for name, t in times.items()}


def _cpu_peak_child(name, size, batch, queue):
    model = build(name)
    x = torch.rand(batch, 3, size, size)
    with peak_memory('cpu') as peak, torch.no_grad():
        model(x)
    queue.put(peak['mib'])


def peak_memory_mb(name, model, size, batch, device):
    if device.type == 'cuda':
        x = torch.rand(batch, 3, size, size, device=device)
        with peak_memory(device) as peak, torch.no_grad():
            model(x)
        return peak['mib']
    ctx = mp.get_context('spawn')
    queue = ctx.Queue()
    proc = ctx.Process(target=_cpu_peak_child,
                       args=(name, size, batch, queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split('\n\n', 1)[1])
    parser.add_argument('--sizes', type=int, nargs='+',
                        default=[224, 448, 768, 1024])
    parser.add_argument('--models', nargs='+', choices=list(MODELS),
                        default=DEFAULT_MODELS,
                        help='the first is the reference of the ratio '
                        'columns (default: %(default)s)')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available()
                        else 'cpu', help='cpu or cuda (default: cuda if '
                        'available)')
    parser.add_argument('--threads', type=int, nargs='+',
                        help='CPU thread counts to time with, one table each '
                        "(default: torch's default)")
    parser.add_argument('--batch', type=int, default=1)
    parser.add_argument('--fp16', action='store_true',
                        help='time under fp16 autocast (GPU)')
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--no-memory', action='store_true',
                        help='skip the peak-memory column')
    parser.add_argument('--out', help='write a PNG plot here')
    return parser.parse_args()


def plot(rows, ms, sizes, path):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for name in dict.fromkeys(name for name, _ in rows):
        taken = [s for s in sizes if (name, s) in rows]
        axes[0].plot(taken, [rows[name, s]['gflops'] for s in taken], 'o-',
                     label=name)
        axes[1].plot(taken, [ms[name, s] for s in taken], 'o-', label=name)
    for ax, label in zip(axes, ('GFLOPs', 'latency (ms)')):
        ax.set_xlabel('input size (pixels per side)')
        ax.set_ylabel(label)
        ax.set_yscale('log')
        ax.set_xticks(sizes)
        ax.grid(True, alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    print(f'plot written to {path}')


def main():
    args = parse_args()
    device = torch.device(args.device)
    models = {name: build(name).to(device) for name in args.models}
    rows = {}
    for size in args.sizes:
        for name, model in models.items():
            if not takes(name, size):
                print(f'{name} at {size}: skipped, the size is not a '
                      f'multiple of {SIZE_MULTIPLE[name]}')
                continue
            x = torch.rand(1, 3, size, size)
            with torch.no_grad():
                cost = complexity(model.cpu(), (x, ))
            model.to(device)
            rows[name, size] = dict(
                params=cost['params'] / 1e6, gflops=cost['flops'] / 1e9,
                gflops_skipped=cost['flops_skipped'] / 1e9,
                mb=None if args.no_memory else peak_memory_mb(
                    name, model, size, args.batch, device))
    precision = 'fp16 autocast' if args.fp16 else 'fp32'
    default_threads = torch.get_num_threads()
    try:
        for threads in args.threads or [default_threads]:
            torch.set_num_threads(threads)
            ms = time_tables(models, rows, threads, precision, device, args)
    finally:  # as it was, for a caller in the same process
        torch.set_num_threads(default_threads)
    if args.out:  # the last thread count's latencies
        plot(rows, ms, args.sizes, args.out)


def time_tables(models, rows, threads, precision, device, args):
    """Time every model at every size with ``threads`` threads, print the
    table and the ratios, and return the latencies (ms)."""
    machine = describe_device(device)  # the load before the timing
    ms = {}
    for size in args.sizes:
        x = torch.rand(args.batch, 3, size, size, device=device)
        for name, value in latencies_ms(
                {n: m for n, m in models.items() if takes(n, size)}, x,
                args).items():
            ms[name, size] = value
    print(f'\n{machine}; batch {args.batch}, '
          f'{precision}, median of {args.repeats} passes')
    reference = args.models[0]
    print('| model | size | params (M) | GFLOPs, attention products '
          'counted | GFLOPs, skipped | latency (ms) | images/s | peak '
          f'mem (MB) | GFLOPs (counted) / {reference} | latency / '
          f'{reference} |')
    print('| --- ' * 10 + '|')
    for (name, size), row in rows.items():
        ref = rows.get((reference, size))
        memory = '-' if row['mb'] is None else f'{row["mb"]:.0f}'
        ratios = ('- | -' if ref is None else
                  f'{row["gflops"] / ref["gflops"]:.2f} | '
                  f'{ms[name, size] / ms[reference, size]:.2f}')
        print(f'| {name} | {size} | {row["params"]:.1f} | '
              f'{row["gflops"]:.2f} | {row["gflops_skipped"]:.2f} | '
              f'{ms[name, size]:.1f} | '
              f'{1e3 * args.batch / ms[name, size]:.1f} | {memory} | '
              f'{ratios} |')
    for high, low in PAIRS:
        for size in args.sizes:
            if {(high, 2 * size), (low, size)} <= set(rows):
                ratio = ms[high, 2 * size] / ms[low, size]
                cost = rows[high, 2 * size]['gflops'] / rows[low,
                                                             size]['gflops']
                print(f'{high} at {2 * size} / {low} at {size}: latency '
                      f'{ratio:.2f}x, GFLOPs (counted) {cost:.2f}x '
                      f'({threads} threads)')
    return ms


if __name__ == '__main__':
    main()
