"""Model complexity as ``mmengine.analysis`` counts it (multiply-accumulates,
what papers call FLOPs), in the two conventions GFLOPs figures come in.

- **Attention products counted**: every multiply-accumulate, the attention
  products ``q k^T`` and ``attn v`` included. ``mmengine.analysis`` counts
  ``scaled_dot_product_attention`` as zero, so a handle for it is registered
  here. The papers' ImageNet figures need it (a four-stage ViT grows 4.57x
  from 224 to 448 only with them).
- **Attention products skipped**: the same count without the products of
  two activations (``scaled_dot_product_attention``, and ``matmul``,
  ``bmm`` and ``einsum``, through which Swin, PVTv2 and mmdet's heads write
  attention), as OpenMMLab's module-hook counter
  (``mmcv.cnn.get_model_complexity_info``), which sees only modules, and the
  detection and segmentation tables of the papers count (Swin-T Mask R-CNN
  267 G).
"""
from math import prod
from typing import Any, List

from mmengine.analysis import FlopAnalyzer, parameter_count
from mmengine.analysis.jit_handles import get_shape

SDPA_OP = 'aten::scaled_dot_product_attention'
# The analyzer's names of the products of two activations.
ACTIVATION_PRODUCTS = ('scaled_dot_product_attention', 'matmul', 'bmm',
                       'einsum')
CONVENTIONS = ('attention products counted', 'attention products skipped')


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
        dict: ``flops`` (attention products counted), ``flops_skipped``
        (attention products skipped) and ``params`` totals, and
        ``breakdown``, a list of ``(name, flops, flops_skipped, params)`` for
        each name in ``depth_prefixes``.
    """
    analyzer = flop_analyzer(model, inputs)
    by_op = analyzer.by_module_and_operator()
    params = parameter_count(model)

    def counted(name):
        return sum(by_op.get(name, {}).values())

    def skipped(name):
        ops = by_op.get(name, {})
        return counted(name) - sum(ops.get(op, 0)
                                   for op in ACTIVATION_PRODUCTS)

    return dict(
        flops=counted(''),
        flops_skipped=skipped(''),
        params=params[''],
        breakdown=[(name, counted(name), skipped(name), params.get(name, 0))
                   for name in depth_prefixes])
