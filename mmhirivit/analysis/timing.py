"""Wall-clock timing shared by the analysis tools: repeated calls, and the
forward time of chosen modules while a model runs."""
import os
import platform
import time
from collections import defaultdict

import torch


def synchronize(device=None):
    """Wait for the CUDA device's queued work (nothing to wait for on the
    CPU), so that wall-clock times include it."""
    if device is not None and torch.device(device).type == 'cuda':
        torch.cuda.synchronize(device)


def time_calls(fn, repeats, warmup=0, device=None):
    """Seconds each of ``repeats`` calls of ``fn()`` took, after ``warmup``
    untimed calls; CUDA work is waited for before and after each call."""
    times = []
    for i in range(warmup + repeats):
        synchronize(device)
        start = time.perf_counter()
        fn()
        synchronize(device)
        if i >= warmup:
            times.append(time.perf_counter() - start)
    return times


def forward_times(named_modules, device=None, during=None):
    """Time every forward call of the given modules while they run.

    Args:
        named_modules (Iterable[tuple[str, nn.Module]]): ``(name, module)``
            pairs; modules may share a name (e.g. every block of one kind),
            whose calls then add up under it.
        device (str | torch.device, optional): A CUDA device to synchronise
            around each call.
        during (nn.Module, optional): Count only the calls made while this
            module's forward runs: a part recomputed in backward (``with_cp``)
            runs its forward again inside the backward pass, which is not a
            forward call of the model.

    Returns:
        tuple: ``(times, remove)``: a dict from name to the list of seconds
        each call took, filled as the model runs, and a function that
        removes the hooks.
    """
    times, starts, handles = defaultdict(list), {}, []
    running = [during is None]

    def pre(module, args):
        if running[0]:
            synchronize(device)
            starts[id(module)] = time.perf_counter()

    for name, module in named_modules:

        def post(module, args, output, name=name):
            if id(module) in starts:
                synchronize(device)
                start = starts.pop(id(module))
                times[name].append(time.perf_counter() - start)

        handles += [module.register_forward_pre_hook(pre),
                    module.register_forward_hook(post)]
    if during is not None:
        def enter(module, args):
            running[0] = True

        def leave(module, args, output):
            running[0] = False
        # Registered last, prepended: around the other hooks of ``during``.
        handles += [during.register_forward_pre_hook(enter, prepend=True),
                    during.register_forward_hook(leave)]
    return times, lambda: [h.remove() for h in handles]


def describe_device(device='cpu'):
    """What a timing ran on, for the line above its table: the GPU's name,
    or the CPU's model, the threads torch uses, the cores and the load
    average of the last minute (other work on the machine slows a run; call
    it before the timing, so that the load is not the timing's own)."""
    if torch.device(device).type == 'cuda':
        return torch.cuda.get_device_name(device)
    model = platform.processor() or platform.machine()
    try:
        with open('/proc/cpuinfo') as f:
            model = next(line.split(':', 1)[1].strip() for line in f
                         if line.startswith('model name'))
    except (OSError, StopIteration):
        pass
    load = f', load {os.getloadavg()[0]:.2f} before the run' if hasattr(
        os, 'getloadavg') else ''
    return (f'{model}, {torch.get_num_threads()} threads, '
            f'{os.cpu_count()} cores{load}')
