"""The speed tools run and print what they claim: the profile per paper part,
the backbone comparison, and the GPU script (at tiny sizes on the CPU)."""
import os
import subprocess
import sys

import pytest
import torch
from helpers import CPU_ONLY, GPU, repo_path, run_tool

from mmhirivit.analysis.timing import forward_times
from mmhirivit.models import HIRIViT


def _table(out, header):
    """The rows of the markdown table under the line starting ``header``."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines)
                 if line.startswith(header))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith('| '):
            break
        rows.append([c.strip() for c in line.strip('|').split('|')])
    return rows


def test_profile_gives_every_paper_part_in_both_modes(capsys):
    run_tool('analysis_tools/profile_backbone.py', 't', '--shape', '64', '96',
             '--repeats', '1', '--warmup', '0', '--top', '3', '--deploy')
    out = capsys.readouterr().out
    assert ('HIRI-ViT-t (5 stages, channels-last, eval with BN folded) at '
            '64x96, batch 1') in out
    for mode in ('eval', 'train'):
        rows = _table(out.split(f'\n{mode}: ')[1], '| part |')
        parts = [r[0] for r in rows]
        assert parts[:5] == ['HR-stem', 'HR-blocks', 'IRDS', 'attention',
                             'FFN (CFFN)']
        assert ('backward (all parts)' in parts) == (mode == 'train')
        assert all(float(r[1]) >= 0 for r in rows[:5])
        # The parts and the rest add up to the pass.
        assert abs(sum(float(r[2].rstrip('%')) for r in rows) - 100) < 1
    assert out.count('top 3 operators by self time') == 2
    # What the training memory holds: the activations saved, by part.
    saved = out.split('activations saved for backward (train): ')[1]
    rows = _table(saved, '| part |')
    assert [r[0] for r in rows][:5] == parts[:5]
    assert sum(float(r[1]) for r in rows) > 0
    assert abs(sum(float(r[2].rstrip('%')) for r in rows) - 100) < 1


def test_profile_moves_recomputed_activations_to_their_inputs(capsys):
    """With stages 1-2 recomputed, the HR-stem and HR-blocks save nothing;
    what their blocks keep is their inputs, a row of its own."""
    run_tool('analysis_tools/profile_backbone.py', 't', '--shape', '64', '96',
             '--repeats', '1', '--warmup', '0', '--top', '1', '--modes',
             'train', '--with-cp', '11000')
    out = capsys.readouterr().out
    assert 'with_cp=11000' in out
    saved = out.split('activations saved for backward (train): ')[1]
    shares = {r[0]: float(r[2].rstrip('%'))
              for r in _table(saved, '| part |')}
    assert shares['HR-stem'] == shares['HR-blocks'] == 0
    assert shares['inputs kept for recomputation'] > 0


def test_recomputation_in_backward_is_not_a_forward_call():
    """A part recomputed in backward runs its forward again (torch stops
    the recomputation once it has what backward needs, so an inner part is
    taken); with ``during=model`` only the model's own forward calls are
    timed."""
    model = HIRIViT(arch='t', with_cp=(True, False, False, False, False))
    part = [('stem.conv', model.stem.conv)]
    for during, calls in ((model, 1), (None, 2)):
        times, remove = forward_times(part, during=during)
        sum(o.sum() for o in model.train()(torch.rand(1, 3, 128, 128))
            ).backward()
        remove()
        assert len(times['stem.conv']) == calls


def test_backbone_benchmark_sets_s_at_twice_the_size_against_swin(capsys):
    threads = torch.get_num_threads()
    run_tool('analysis_tools/benchmark_backbone.py', '--sizes', '64', '128',
             '--models', 'HIRI-ViT-S', 'HIRI-ViT-S-NCHW', 'Swin-T',
             '--threads', '1', '--repeats', '1', '--warmup', '0',
             '--no-memory')
    out = capsys.readouterr().out
    rows = _table(out, '| model |')
    assert [(r[0], r[1]) for r in rows] == [
        (name, size) for size in ('64', '128')
        for name in ('HIRI-ViT-S', 'HIRI-ViT-S-NCHW', 'Swin-T')]
    # The deployed and the plain network cost the same.
    assert rows[0][3] == rows[1][3]
    assert 'HIRI-ViT-S at 128 / Swin-T at 64: latency' in out
    assert '1 threads' in out
    # Timed with 1 thread, and the thread count restored for what runs
    # next in this process (a later run with another count would add its
    # sums in another order).
    assert torch.get_num_threads() == threads


@pytest.mark.parametrize('device', [pytest.param('cpu', marks=CPU_ONLY),
                                    pytest.param('cuda', marks=GPU)])
def test_gpu_script_runs_at_tiny_sizes(device):
    env = dict(os.environ, TINY='1', TINY_DEVICE=device, SUITE='0')
    result = subprocess.run(
        ['bash', repo_path('tools', 'analysis_tools', 'gpu_benchmark.sh'),
         sys.executable], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'HIRI-ViT-S at 128 / Swin-T at 64' in result.stdout
    assert 'maskrcnn_hirivit_s_win_1x_coco.py' in result.stdout
