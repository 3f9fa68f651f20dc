import torch

from helpers import run_tool
from mmhirivit.models.backbones.hirivit import MultiheadAttention
from mmhirivit.utils import complexity


def test_attention_macs_are_counted():
    tokens, dims, heads = 49, 64, 2
    attn = MultiheadAttention(dims, heads)
    macs = complexity(attn, (torch.rand(1, tokens, dims), ))['flops']
    linear = tokens * dims * 3 * dims + tokens * dims * dims
    # q k^T and attn v: N x N x head_dim each, per head.
    sdpa = heads * tokens * tokens * 2 * (dims // heads)
    assert macs == linear + sdpa


def test_get_flops_tool_prints_a_table(capsys):
    run_tool('analysis_tools/get_flops.py', 't', '--sizes', '64', '128',
             '--classifier', '--breakdown')
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith('| t |'))
    gflops = [float(v) for v in row.strip('| \n').split('|')[2:]]
    assert len(gflops) == 2 and 3.5 < gflops[1] / gflops[0] < 4.5
    assert '| backbone.stages.3 |' in out
