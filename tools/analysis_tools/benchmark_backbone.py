"""Cost, latency and peak memory of HIRI-ViT-S against Swin-T (mmdet),
ConvNeXt-T (mmpretrain) and PVTv2-b2 (mmdet), side by side, over input sizes.

HIRI-ViT-S runs as shipped for inference (channels-last, BN folded by
``switch_to_deploy()``) and, as ``HIRI-ViT-S-NCHW``, as the plain eager
NCHW network with its BN, of the same cost. Latency is the median of
``--repeats`` timed forward passes (no grad, eval mode) after ``--warmup``
untimed ones; the models take turns pass by pass, so a change in the
machine's load falls on all of them. ``--threads`` repeats the timing with
each CPU thread count. Images per second are ``--batch`` over the latency.
Peak memory is the CUDA allocator's peak on a GPU; on the CPU (Linux) it is
the peak resident-set growth of one forward pass (VmHWM after resetting it
through /proc/self/clear_refs), each measured in a fresh process because the
CPU allocator keeps no peak statistic. GFLOPs are multiply-accumulates as
``mmhirivit.tools.complexity`` counts them, with the attention products
counted and skipped (OpenMMLab's module-hook convention). Below the tables,
HIRI-ViT-S at twice each size is set against Swin-T at that size.

Example (docs/benchmarks.md)::

    python tools/analysis_tools/benchmark_backbone.py --sizes 224 448 \
        --threads 2 1 --repeats 9
    python tools/analysis_tools/benchmark_backbone.py --sizes 224 448 \
        --device cuda --batch 64 --fp16 --models HIRI-ViT-S Swin-T
"""
import argparse
import multiprocessing as mp
import statistics
from contextlib import nullcontext

import torch

import mmhirivit  # noqa: F401  (registers HIRIViT)
from mmhirivit.tools.complexity import complexity
from mmhirivit.tools.memory import peak_memory
from mmhirivit.tools.timing import describe_device, time_calls

HIRIVIT_S = dict(type='mmhirivit.HIRIViT', arch='s', out_indices=(1, 2, 3, 4))
MODELS = {
    'HIRI-ViT-S': HIRIVIT_S,
    'HIRI-ViT-S-NCHW': dict(HIRIVIT_S, channels_last=False),
    'Swin-T': dict(type='mmdet.SwinTransformer', embed_dims=96,
                   depths=[2, 2, 6, 2], num_heads=[3, 6, 12, 24],
                   window_size=7, out_indices=(0, 1, 2, 3)),
    'ConvNeXt-T': dict(type='mmpretrain.ConvNeXt', arch='tiny',
                       out_indices=(0, 1, 2, 3), gap_before_final_norm=False),
    'PVTv2-b2': dict(type='mmdet.PyramidVisionTransformerV2', embed_dims=64,
                     num_layers=[3, 4, 6, 3]),
}
DEPLOYED = {'HIRI-ViT-S'}  # BN folded for inference (switch_to_deploy)
REFERENCE = 'HIRI-ViT-S'
AGAINST = 'Swin-T'  # HIRI-ViT-S at twice its input size is compared with it


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
                        default=list(MODELS))
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
    args = parser.parse_args()
    if REFERENCE not in args.models:
        args.models.insert(0, REFERENCE)
    return args


def plot(rows, ms, sizes, path):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for name in dict.fromkeys(name for name, _ in rows):
        axes[0].plot(sizes, [rows[name, s]['gflops'] for s in sizes], 'o-',
                     label=name)
        axes[1].plot(sizes, [ms[name, s] for s in sizes], 'o-', label=name)
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
        for name, value in latencies_ms(models, x, args).items():
            ms[name, size] = value
    print(f'\n{machine}; batch {args.batch}, '
          f'{precision}, median of {args.repeats} passes')
    print('| model | size | params (M) | GFLOPs, attention products '
          'counted | GFLOPs, skipped | latency (ms) | images/s | peak '
          f'mem (MB) | GFLOPs (counted) / {REFERENCE} | latency / '
          f'{REFERENCE} |')
    print('| --- ' * 10 + '|')
    for (name, size), row in rows.items():
        ref = rows[REFERENCE, size]
        memory = '-' if row['mb'] is None else f'{row["mb"]:.0f}'
        print(f'| {name} | {size} | {row["params"]:.1f} | '
              f'{row["gflops"]:.2f} | {row["gflops_skipped"]:.2f} | '
              f'{ms[name, size]:.1f} | '
              f'{1e3 * args.batch / ms[name, size]:.1f} | {memory} | '
              f'{row["gflops"] / ref["gflops"]:.2f} | '
              f'{ms[name, size] / ms[REFERENCE, size]:.2f} |')
    for size in args.sizes:
        if 2 * size in args.sizes and AGAINST in models:
            ratio = ms[REFERENCE, 2 * size] / ms[AGAINST, size]
            cost = rows[REFERENCE, 2 * size]['gflops'] / rows[
                AGAINST, size]['gflops']
            print(f'{REFERENCE} at {2 * size} / {AGAINST} at {size}: '
                  f'latency {ratio:.2f}x, GFLOPs (counted) {cost:.2f}x '
                  f'({threads} threads)')
    return ms


if __name__ == '__main__':
    main()
