"""Cost, latency and peak memory of HIRI-ViT-S against Swin-T (mmdet),
ConvNeXt-T (mmpretrain) and PVTv2-b2 (mmdet), side by side, over input sizes.

Latency is the median of ``--repeats`` timed forward passes (batch 1, no
grad, eval mode) after ``--warmup`` untimed ones, all models in this process.
Peak memory is the CUDA allocator's peak on a GPU; on the CPU (Linux) it is
the peak resident-set growth of one forward pass (VmHWM after resetting it
through /proc/self/clear_refs), each measured in a fresh process because the
CPU allocator keeps no peak statistic. GFLOPs are
multiply-accumulates as ``mmhirivit.utils.complexity`` counts them, with the
attention products counted and skipped (OpenMMLab's module-hook
convention).

Example::

    python tools/analysis_tools/benchmark_backbone.py --sizes 224 448 768 1024 \
        --out work_dirs/benchmark.png
"""
import argparse
import multiprocessing as mp
import statistics
import time

import torch

import mmhirivit  # noqa: F401  (registers HIRIViT)
from mmhirivit.utils import complexity
from mmhirivit.utils.memory import peak_memory

MODELS = {
    'HIRI-ViT-S': dict(type='mmhirivit.HIRIViT', arch='s',
                       out_indices=(1, 2, 3, 4)),
    'Swin-T': dict(type='mmdet.SwinTransformer', embed_dims=96,
                   depths=[2, 2, 6, 2], num_heads=[3, 6, 12, 24],
                   window_size=7, out_indices=(0, 1, 2, 3)),
    'ConvNeXt-T': dict(type='mmpretrain.ConvNeXt', arch='tiny',
                       out_indices=(0, 1, 2, 3), gap_before_final_norm=False),
    'PVTv2-b2': dict(type='mmdet.PyramidVisionTransformerV2', embed_dims=64,
                     num_layers=[3, 4, 6, 3]),
}
REFERENCE = 'HIRI-ViT-S'


def build(name):
    import mmdet.models  # noqa: F401
    import mmpretrain.models  # noqa: F401
    from mmengine.registry import MODELS as REGISTRY
    model = REGISTRY.build(MODELS[name])
    model.eval()  # not chained: mmdet's SwinTransformer.train() returns None
    return model


def latency_ms(model, x, warmup, repeats):
    sync = torch.cuda.synchronize if x.is_cuda else (lambda: None)
    times = []
    with torch.no_grad():
        for i in range(warmup + repeats):
            sync()
            start = time.perf_counter()
            model(x)
            sync()
            if i >= warmup:
                times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def _cpu_peak_child(name, size, queue):
    model = build(name)
    x = torch.rand(1, 3, size, size)
    with peak_memory('cpu') as peak, torch.no_grad():
        model(x)
    queue.put(peak['mib'])


def peak_memory_mb(name, model, size, device):
    if device.type == 'cuda':
        x = torch.rand(1, 3, size, size, device=device)
        with peak_memory(device) as peak, torch.no_grad():
            model(x)
        return peak['mib']
    ctx = mp.get_context('spawn')
    queue = ctx.Queue()
    proc = ctx.Process(target=_cpu_peak_child, args=(name, size, queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--sizes', type=int, nargs='+',
                        default=[224, 448, 768, 1024])
    parser.add_argument('--models', nargs='+', choices=list(MODELS),
                        default=list(MODELS))
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available()
                        else 'cpu', help='cpu or cuda (default: cuda if '
                        'available)')
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--out', help='write a PNG plot here')
    args = parser.parse_args()
    if REFERENCE not in args.models:
        args.models.insert(0, REFERENCE)
    return args


def plot(rows, sizes, path):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for name in dict.fromkeys(r['model'] for r in rows):
        mine = [r for r in rows if r['model'] == name]
        axes[0].plot(sizes, [r['gflops'] for r in mine], 'o-', label=name)
        axes[1].plot(sizes, [r['ms'] for r in mine], 'o-', label=name)
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
    rows = []
    for size in args.sizes:
        for name, model in models.items():
            x = torch.rand(1, 3, size, size, device=device)
            with torch.no_grad():
                cost = complexity(model.cpu(), (x.cpu(), ))
            model.to(device)
            rows.append(dict(
                model=name, size=size, gflops=cost['flops'] / 1e9,
                gflops_skipped=cost['flops_skipped'] / 1e9,
                params=cost['params'] / 1e6,
                ms=latency_ms(model, x, args.warmup, args.repeats),
                mb=peak_memory_mb(name, model, size, device)))
            print(f'{name} @ {size}: {rows[-1]}', flush=True)
    ref = {r['size']: r for r in rows if r['model'] == REFERENCE}
    print(f'\ndevice: {args.device} ({torch.get_num_threads()} threads)'
          if device.type == 'cpu' else
          f'\ndevice: {torch.cuda.get_device_name(device)}')
    print('| model | size | params (M) | GFLOPs, attention products counted '
          '| GFLOPs, skipped | latency (ms) | peak mem (MB) '
          f'| GFLOPs (counted) / {REFERENCE} | latency / {REFERENCE} |')
    print('| --- ' * 9 + '|')
    for r in rows:
        base = ref[r['size']]
        print(f'| {r["model"]} | {r["size"]} | {r["params"]:.1f} | '
              f'{r["gflops"]:.2f} | {r["gflops_skipped"]:.2f} | '
              f'{r["ms"]:.1f} | {r["mb"]:.0f} | '
              f'{r["gflops"] / base["gflops"]:.2f} | '
              f'{r["ms"] / base["ms"]:.2f} |')
    if args.out:
        plot(rows, args.sizes, args.out)


if __name__ == '__main__':
    main()
