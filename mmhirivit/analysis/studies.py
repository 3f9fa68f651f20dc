"""Comparisons of designs by training each several times: every run a clean
process of ``tools/train.py`` with its own seed, timed (wall and CPU time,
the machine's load before and after), its final evaluation read from its
log. ``tools/analysis_tools/seed_study.py`` runs the studies defined here and
prints their tables."""
import json
import os
import os.path as osp
import re
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, Optional, Sequence, Tuple

import torch


@dataclass
class Arm:
    """One design of a study: a config (relative to the repository), what it
    is, settings it changes for the study, and its own seeds (default: the
    study's)."""
    config: str
    what: str
    cfg_options: Tuple[str, ...] = ()
    seeds: Optional[Sequence[int]] = None


@dataclass
class Study:
    """Arms trained with the same seeds; ``metrics`` maps each reported
    figure to the regular expression that finds it in a run's output (its
    last match counts); ``prepare`` makes the data the arms read."""
    arms: Dict[str, Arm]
    metrics: Dict[str, str]
    prepare: Optional[Callable[[], None]] = None
    seeds: Sequence[int] = field(default=(0, 1, 2))


class RunError(RuntimeError):
    """A run of a study failed; the message names it and where its log
    is."""


def train(root, config, seed, work_dir, metrics, threads=None,
          cfg_options=()):
    """One run of ``tools/train.py`` in its own process, with ``seed``; its
    figures (``metrics``), times and the machine's load."""
    env = dict(os.environ)
    if threads:
        env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    command = [sys.executable, osp.join(root, 'tools', 'train.py'),
               osp.join(root, config), '--work-dir', work_dir,
               '--cfg-options', f'randomness.seed={seed}', *cfg_options]
    load = os.getloadavg()[0]
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    proc = subprocess.run(command, env=env, capture_output=True, text=True,
                          cwd=root)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    name = f'{osp.basename(config)} seed {seed}'
    if proc.returncode:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:]
        raise RunError(f'{name} failed: {tail[0] if tail else proc.returncode}'
                       f' (its log is in {work_dir})')
    result = {}
    for key, pattern in metrics.items():
        found = re.findall(pattern, proc.stdout + proc.stderr)
        if not found:
            raise RunError(f'{name}: no {key} in its output (its log is in '
                           f'{work_dir})')
        result[key] = float(found[-1])
    return dict(result, wall_s=wall,
                cpu_s=after.ru_utime + after.ru_stime - usage.ru_utime -
                usage.ru_stime, load_before=load,
                load_after=os.getloadavg()[0],
                finished=time.strftime('%Y-%m-%d %H:%M:%S'),
                threads=threads or torch.get_num_threads(),
                cfg_options=list(cfg_options))


def run_study(root, study, work_dir, arms=None, seeds=None, threads=None,
              cfg_options=(), report=print):
    """Every run of ``study`` (or of the ``arms`` and ``seeds`` given) not
    yet finished in ``work_dir``; returns ``{arm: [result per seed]}``.

    Each finished run leaves ``result.json`` in its folder, and a run found
    finished is not trained again: its result says so (``earlier``).
    """
    if study.prepare is not None:
        study.prepare()
    started = time.strftime('%Y-%m-%d %H:%M:%S')
    results = {}
    for name in arms or study.arms:
        arm = study.arms[name]
        results[name] = []
        for seed in seeds or arm.seeds or study.seeds:
            folder = osp.join(work_dir, f'{name}_seed{seed}')
            path = osp.join(folder, 'result.json')
            if osp.isfile(path):
                with open(path) as f:
                    result = json.load(f)
                result['earlier'] = result['finished'] < started
            else:
                result = train(root, arm.config, seed, folder, study.metrics,
                               threads, (*arm.cfg_options, *cfg_options))
                with open(path, 'w') as f:
                    json.dump(result, f, indent=1)
                result['earlier'] = False
            figures = ', '.join(f'{k} {result[k]:.4g}' for k in study.metrics)
            report(f'{name} seed {seed}: {figures}, wall '
                   f'{minutes(result["wall_s"])}, CPU '
                   f'{minutes(result["cpu_s"])}, load '
                   f'{result["load_before"]:.2f} before / '
                   f'{result["load_after"]:.2f} after'
                   + (' (from an earlier invocation)'
                      if result['earlier'] else ''))
            results[name].append(result)
    return results


def minutes(seconds):
    """``seconds`` as ``M min SS s``, rounded to the second."""
    whole = round(seconds)
    return f'{whole // 60} min {whole % 60:02d} s'


def mean_std(values):
    """``mean ± std`` (the sample standard deviation; 0 for one value)."""
    spread = statistics.stdev(values) if len(values) > 1 else 0.
    return f'{statistics.mean(values):.2f} ± {spread:.2f}'


def median_range(values, fmt='{:.3f}'):
    """``median (min-max)``."""
    return (f'{fmt.format(statistics.median(values))} '
            f'({fmt.format(min(values))}-{fmt.format(max(values))})')
