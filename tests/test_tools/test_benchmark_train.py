"""tools/analysis_tools/benchmark_train.py times real training steps and
test-mode passes of whole models from their configs, on synthetic inputs."""
import argparse
import runpy

import pytest
from helpers import CPU_ONLY, GPU, error_line, repo_path, run_tool

TOOL = 'analysis_tools/benchmark_train.py'
DEMO = 'configs/maskrcnn_hirivit_t_demo_toy.py'


def _rows(out):
    return [[c.strip() for c in line.strip('|').split('|')]
            for line in out.splitlines()
            if line.startswith('| ') and not line.startswith('| ---')][1:]


@pytest.mark.parametrize('device', [
    pytest.param('cpu', marks=CPU_ONLY),
    pytest.param('cuda', marks=GPU)])
def test_prints_steps_memory_and_speed_with_and_without_cp(device, capsys):
    run_tool(TOOL, DEMO, 'mmpretrain::resnet/resnet18_8xb32_in1k.py',
             '--shapes', '128', '160', '96', '96', '--batch', '2',
             '--steps', '1', '--warmup', '0', '--infer', '1', '--device',
             device)
    out = capsys.readouterr().out
    assert f'device: {device}' in out and 'batch 2, fp32' in out
    rows = _rows(out)
    assert [r[0] for r in rows] == [
        DEMO, f'{DEMO} (with_cp=all)',
        'mmpretrain::resnet/resnet18_8xb32_in1k.py'
    ]
    assert [r[1] for r in rows] == ['128x160', '128x160', '96x96']
    for row in rows:
        step, mib, fps, time_ratio = map(float, row[3:7])
        assert step > 0 and mib > 0 and fps > 0
    assert rows[0][6:] == ['1.00', '1.00']


@pytest.mark.parametrize('args,words', [
    ([DEMO], ['--shape H W']),
    ([DEMO, '--shapes', '128'], ['one H W pair per config']),
    pytest.param([DEMO, '--shape', '128', '128', '--amp'], ['needs a GPU'],
                 marks=CPU_ONLY),
    (['nope.py', '--shape', '128', '128'], ['nope.py']),
])
def test_bad_arguments_are_one_line(args, words, capsys):
    line = error_line(capsys, TOOL, *args)
    for word in words:
        assert word in line


def test_with_cp_rows_leave_the_plain_row_alone():
    tool = runpy.run_path(repo_path('tools', TOOL), run_name='benchmark')
    args = argparse.Namespace(amp=None,
                              with_cp=['off', '11000', 'all'])
    (_, plain), (name, stages), (_, every) = tool['rows_of'](DEMO, args)
    assert name.endswith('(with_cp=11000)')
    assert plain.model.backbone.with_cp is False
    assert stages.model.backbone.with_cp == [True, True, False, False, False]
    assert every.model.backbone.with_cp is True
    with pytest.raises(Exception, match='one 0/1 flag per stage'):
        tool['rows_of'](DEMO, argparse.Namespace(amp=None, with_cp=['110']))
