"""Peak memory of a block of code, on the CPU (Linux) or a CUDA device."""
import ctypes
import gc
from contextlib import contextmanager

import torch


def _status_kib(field):
    with open('/proc/self/status') as f:
        return next(int(line.split()[1]) for line in f
                    if line.startswith(field + ':'))


@contextmanager
def peak_memory(device):
    """Measure the peak memory growth of the block, in MiB, into the yielded
    dict's ``'mib'``.

    On a CUDA device: the caching allocator's peak over what was allocated
    when the block began. On the CPU: the peak resident-set growth (Linux's
    VmHWM, reset to the current size through ``/proc/self/clear_refs``),
    after returning freed memory to the system, so that what an earlier
    block freed does not hide this block's growth.
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
    yield result
    result['mib'] = (_status_kib('VmHWM') - base) / 1024
