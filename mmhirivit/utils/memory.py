"""Peak memory of a block of code, on the CPU (Linux) or a CUDA device."""
import ctypes
import gc
import os
import threading
from contextlib import contextmanager

import torch


def _status_kib(field):
    with open('/proc/self/status') as f:
        return next(int(line.split()[1]) for line in f
                    if line.startswith(field + ':'))


def _rss_bytes():
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')


class _RssSampler(threading.Thread):
    """The largest resident set seen, sampled every millisecond."""

    def __init__(self):
        super().__init__(daemon=True)
        self.peak = _rss_bytes()
        self.done = threading.Event()

    def run(self):
        while not self.done.wait(0.001):
            self.peak = max(self.peak, _rss_bytes())


@contextmanager
def peak_memory(device):
    """Measure the peak memory growth of the block, in MiB, into the yielded
    dict's ``'mib'``.

    On a CUDA device: the caching allocator's peak over what was allocated
    when the block began. On the CPU: the peak resident-set growth (Linux's
    VmHWM, reset to the current size through ``/proc/self/clear_refs``, or
    the resident set sampled every millisecond, whichever is larger: the
    kernel updates VmHWM lazily and can miss a peak), after returning freed
    memory to the system, so that what an earlier block freed does not hide
    this block's growth.
    """
    result = {}
    gc.collect()
    if torch.device(device).type == 'cuda':
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
        yield result
        torch.cuda.synchronize(device)
        result['mib'] = (torch.cuda.max_memory_allocated(device) -
                         base) / 2**20
        return
    ctypes.CDLL('libc.so.6').malloc_trim(0)
    with open('/proc/self/clear_refs', 'w') as f:
        f.write('5')  # reset the peak (VmHWM) to the current size
    base = _status_kib('VmRSS')
    sampler = _RssSampler()
    sampler.start()
    try:
        yield result
    finally:
        sampler.done.set()
        sampler.join()
    peak_kib = max(_status_kib('VmHWM'), sampler.peak // 1024)
    result['mib'] = (peak_kib - base) / 1024
