"""Where HIRI-ViT's time goes: time per paper part and the top operators, in
eval and train mode, for any arch and input size.

For each mode, ``--warmup`` untimed passes, then ``--repeats`` timed passes
(eval: forward without gradients; train: forward and backward of the
outputs' sum, BN in training mode), in which forward hooks time each part
of the paper: HR-stem, HR-blocks, IRDS (a and b), attention (the MHA of
stages 4-5), FFN (every CFFN) and the rest (norms, residual sums, output
norms). In train mode the backward pass is one row: autograd does not run
it part by part; a last table gives the activations autograd saves for it,
by part (what the training memory holds beside weights and optimizer
state). Then ``--repeats`` more passes under torch.profiler give
the ``--top`` operators by self time. Hooks and the profiler add a little
overhead, so the per-pass time of the first table is what to compare.

``--nchw`` profiles the plain NCHW network (``channels_last=False``) and
``--deploy`` the eval mode with BN folded (``switch_to_deploy()``), as the
exporter and benchmark_backbone.py run it. ``--with-cp 11000`` recomputes
the flagged stages in backward: their activations are not saved, only each
recomputed part's input (a row of its own). ``--autocast bf16`` runs the
passes under bfloat16 autocast.

Example (docs/benchmarks.md)::

    python tools/analysis_tools/profile_backbone.py s --shape 448 --deploy
    python tools/analysis_tools/profile_backbone.py s --shape 448 --nchw
    python tools/analysis_tools/profile_backbone.py s --shape 1600 2666 \
        --modes eval --repeats 1
    python tools/analysis_tools/profile_backbone.py s --shape 1600 2666 \
        --modes train --repeats 1 --warmup 0 --with-cp 11000
"""
import argparse
import copy
import statistics
from collections import defaultdict
from contextlib import nullcontext

import torch

from mmhirivit.analysis.timing import (describe_device, forward_times,
                                       time_calls)
from mmhirivit.cli import UsageError, run_cli
from mmhirivit.models import HIRIViT
from mmhirivit.models.backbones.hirivit import (CFFN, HRBlock, HRStem, IRDSa,
                                                IRDSb, MultiheadAttention)

PARTS = (('HR-stem', HRStem), ('HR-blocks', HRBlock),
         ('IRDS', (IRDSa, IRDSb)), ('attention', MultiheadAttention),
         ('FFN (CFFN)', CFFN))
MODES = ('eval', 'train')
OTHER = 'other (norms, residuals, output norms)'
KEPT = 'inputs kept for recomputation'


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split('\n\n', 1)[1])
    parser.add_argument('arch', help='an arch_zoo name (t, s, b, l)')
    parser.add_argument('--shape', type=int, nargs='+', default=[448],
                        metavar='H [W]', help='input size (default 448)')
    parser.add_argument('--batch', type=int, default=1)
    parser.add_argument('--num-stages', type=int, choices=(4, 5), default=5,
                        help='5, the paper\'s network, or 4, its four-stage '
                        'form for 224 inputs')
    parser.add_argument('--nchw', action='store_true',
                        help='the plain NCHW network (channels_last=False)')
    parser.add_argument('--deploy', action='store_true',
                        help='eval mode with BN folded (switch_to_deploy)')
    parser.add_argument('--modes', nargs='+', choices=MODES,
                        default=list(MODES))
    parser.add_argument('--threads', type=int,
                        help='CPU threads (default: torch\'s default)')
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--top', type=int, default=5,
                        help='operators to list (default 5)')
    parser.add_argument('--device', default='cpu', help='cpu or cuda')
    parser.add_argument('--with-cp', default='off', metavar='FLAGS',
                        help='recompute the stages flagged 1 in backward '
                        '(one 0/1 per stage, e.g. 11000; default off)')
    parser.add_argument('--autocast', choices=('bf16', ), help='run the '
                        'passes under bfloat16 autocast')
    return parser.parse_args()


def part_modules(model):
    """``(part, module)`` for every module of a paper part."""
    for module in model.modules():
        for part, kinds in PARTS:
            if isinstance(module, kinds):
                yield part, module


def autocast(x, args):
    """The pass's precision context: bfloat16 autocast with ``--autocast``,
    else nothing."""
    return torch.autocast(x.device.type, torch.bfloat16) if args.autocast \
        else nullcontext()


def one_pass(model, x, mode, args):
    """A function running one pass of ``mode``."""
    if mode == 'eval':
        def eval_pass():
            with autocast(x, args):
                return model(x)
        return eval_pass

    def train_pass():
        with autocast(x, args):
            outs = model(x)
        sum(out.float().mean() for out in outs).backward()
    return train_pass


def saved_activations(model, x, args):
    """MiB that autograd saves for the backward pass in one train pass, by
    paper part (the innermost part running when a tensor is saved; each
    storage counted once, parameters not counted), and the inputs that
    recomputed parts keep instead of their activations."""
    parts = list(part_modules(model))
    running, saved, seen = [OTHER], defaultdict(int), {}
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}

    def count(tensor, part):
        """Count ``tensor``'s storage under ``part``; a recomputed part's
        input moves to :data:`KEPT` (torch's checkpoint saves it just before
        the part runs, under the part around it)."""
        storage = tensor.untyped_storage()
        ptr = storage.data_ptr()
        if ptr in params or (ptr in seen and part != KEPT):
            return
        if ptr in seen:
            saved[seen[ptr]] -= storage.nbytes()
        seen[ptr] = part
        saved[part] += storage.nbytes()

    def pack(tensor):
        count(tensor, running[-1])
        return tensor

    def leave(module, args, output):
        running.pop()

    handles = [module.register_forward_pre_hook(
        lambda m, a: count(a[0], KEPT)) for module in model.recomputed()]
    for part, module in parts:
        handles += [
            module.register_forward_pre_hook(
                lambda m, a, part=part: running.append(part)),
            module.register_forward_hook(leave),
        ]
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t), \
            autocast(x, args):
        outs = model(x)
    for handle in handles:
        handle.remove()
    del outs
    return {part: size / 2**20 for part, size in saved.items()}


def print_saved(model, x, args):
    saved = saved_activations(model, x, args)
    total = sum(saved.values())
    print(f'\nactivations saved for backward (train): {total:.0f} MiB per '
          f'pass')
    print('| part | MiB | share |')
    print('| --- | --- | --- |')
    for part in [p for p, _ in PARTS] + [OTHER, KEPT]:
        print(f'| {part} | {saved.get(part, 0.):.0f} | '
              f'{100 * saved.get(part, 0.) / total:.1f}% |')


def profile(model, x, mode, args):
    model.train(mode == 'train')
    if mode == 'eval' and args.deploy:
        model = copy.deepcopy(model).switch_to_deploy()
    run = one_pass(model, x, mode, args)
    with torch.set_grad_enabled(mode == 'train'):
        time_calls(run, repeats=0, warmup=args.warmup, device=x.device)
        times, remove = forward_times(
            [('total', model), *part_modules(model)], x.device, during=model)
        steps = time_calls(run, args.repeats, device=x.device)
        remove()
        activities = [torch.profiler.ProfilerActivity.CPU] + (
            [torch.profiler.ProfilerActivity.CUDA] if x.is_cuda else [])
        with torch.profiler.profile(activities=activities) as prof:
            time_calls(run, args.repeats, device=x.device)
    step = statistics.median(steps)
    per_pass = {part: sum(t) / args.repeats for part, t in times.items()}
    rows = [(part, per_pass.get(part, 0.)) for part, _ in PARTS]
    rows.append((OTHER, per_pass['total'] - sum(t for _, t in rows)))
    if mode == 'train':
        rows.append(('backward (all parts)', step - per_pass['total']))
    print(f'\n{mode}: {step * 1e3:.1f} ms per pass (median of '
          f'{args.repeats})')
    print('| part | ms per pass | share |')
    print('| --- | --- | --- |')
    for part, seconds in rows:
        print(f'| {part} | {seconds * 1e3:.1f} | '
              f'{100 * seconds / step:.1f}% |')
    key = 'self_cuda_time_total' if x.is_cuda else 'self_cpu_time_total'
    print(f'\ntop {args.top} operators by self time over {args.repeats} '
          f'passes ({mode}):')
    print(prof.key_averages().table(sort_by=key, row_limit=args.top,
                                    max_name_column_width=40))
    if mode == 'train':
        print_saved(model, x, args)


def main():
    args = parse_args()
    if len(args.shape) > 2:
        raise UsageError(f'--shape takes H or H W, got {args.shape}')
    if min(args.repeats, args.batch) < 1 or args.warmup < 0:
        raise UsageError('--repeats and --batch must be >= 1, --warmup >= 0')
    default_threads = torch.get_num_threads()
    torch.set_num_threads(args.threads or default_threads)
    try:
        run(args)
    finally:  # as it was, for a caller in the same process
        torch.set_num_threads(default_threads)


def with_cp(args):
    """``--with-cp`` as HIRI-ViT's ``with_cp``."""
    if args.with_cp == 'off':
        return False
    if len(args.with_cp) != args.num_stages or set(args.with_cp) - {'0',
                                                                    '1'}:
        raise UsageError(f'--with-cp {args.with_cp}: give off or one 0/1 '
                         f'flag per stage ({args.num_stages})')
    return [flag == '1' for flag in args.with_cp]


def run(args):
    h, w = args.shape[0], args.shape[-1]
    device = torch.device(args.device)
    model = HIRIViT(arch=args.arch, num_stages=args.num_stages,
                    channels_last=not args.nchw,
                    with_cp=with_cp(args)).to(device)
    x = torch.rand(args.batch, 3, h, w, device=device)
    layout = 'NCHW' if args.nchw else 'channels-last'
    recomputed = '' if args.with_cp == 'off' else \
        f', with_cp={args.with_cp}'
    print(f'HIRI-ViT-{args.arch} ({args.num_stages} stages, {layout}'
          f'{", eval with BN folded" if args.deploy else ""}{recomputed}) at '
          f'{h}x{w}, batch {args.batch}, '
          f'{"bf16 autocast" if args.autocast else "fp32"}, '
          f'{describe_device(device)}')
    for mode in args.modes:
        profile(model, x, mode, args)


if __name__ == '__main__':
    run_cli(main)
