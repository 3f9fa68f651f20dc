"""Model complexity as ``mmengine.analysis`` counts it (multiply-accumulates,
what papers call FLOPs), with a handle for scaled dot-product attention,
which mmengine's analyzer otherwise counts as zero."""
from math import prod
from typing import Any, List

from mmengine.analysis import FlopAnalyzer, parameter_count
from mmengine.analysis.jit_handles import get_shape

SDPA_OP = 'aten::scaled_dot_product_attention'


def sdpa_flop_jit(inputs: List[Any], outputs: List[Any]) -> int:
    """MACs of ``softmax(q k^T) v``: ``q k^T`` and ``attn v``, per head."""
    q, k, v = (get_shape(x) for x in inputs[:3])
    *batch, n, d = q
    return prod(batch) * n * k[-2] * (d + v[-1])


def flop_analyzer(model, inputs) -> FlopAnalyzer:
    """A quiet :class:`FlopAnalyzer` that also counts attention."""
    analyzer = FlopAnalyzer(model, inputs)
    analyzer.set_op_handle(SDPA_OP, sdpa_flop_jit)
    analyzer.unsupported_ops_warnings(False)
    analyzer.uncalled_modules_warnings(False)
    return analyzer


def complexity(model, inputs, depth_prefixes=()):
    """Total MACs and params of ``model`` on ``inputs``, plus a breakdown.

    Args:
        model (nn.Module): The model, in eval mode.
        inputs (tuple): Positional inputs of ``model.forward``.
        depth_prefixes (Sequence[str]): Module names to break down, e.g.
            ``['backbone.stem', 'backbone.stages.0', ...]``.

    Returns:
        dict: ``flops`` and ``params`` totals and ``breakdown``, a list of
        ``(name, flops, params)`` for each name in ``depth_prefixes``.
    """
    analyzer = flop_analyzer(model, inputs)
    by_module = analyzer.by_module()
    params = parameter_count(model)
    return dict(
        flops=analyzer.total(),
        params=params[''],
        breakdown=[(name, by_module.get(name, 0), params.get(name, 0))
                   for name in depth_prefixes])
