"""Export HIRI-ViT, or a whole model of a config, to ONNX, and check the
file in onnxruntime.

MODEL is an arch name (t, s, b, l: the backbone, with the dense configs'
outputs, stages 2-5) or a config: a one-stage detector (to its heads' class
and box outputs per FPN level), a segmenter (to the class scores at the input
size) or a classifier (to the class scores). The input is the image as the
config's data preprocessor hands it to the model: (N, 3, H, W), normalised,
RGB. Decoding boxes and NMS stay with mmdet (``bbox_head.predict_by_feat``).
Height and width are dynamic unless ``--static``, or unless the model pools
adaptively to a grid (UPerNet's pyramid pooling), whose file then holds for
``--shape`` only.

``--verify`` runs the file in onnxruntime and the model in PyTorch on the
same random input, at ``--shape`` and (when dynamic) at a second shape, and
prints the largest absolute difference, the largest difference relative to
the output's largest magnitude, and the median latency of each; it fails
when the relative difference is above ``--rtol``.

Needs the deploy extras: ``pip install -e .[deploy]`` (onnx, onnxruntime).

Example::

    python tools/deployment/pytorch2onnx.py s hirivit_s.onnx \
        --shape 448 448 --verify
    python tools/deployment/pytorch2onnx.py \
        configs/retinanet_hirivit_s_1x_coco.py retinanet.onnx \
        --shape 800 1344 --checkpoint retinanet.pth --verify
"""
import argparse
import os.path as osp
import statistics

import torch
import torch.nn.functional as F

import mmhirivit  # noqa: F401  (registers the models)
from mmhirivit.models import HIRIViT
from mmhirivit.models.backbones.hirivit import MIN_INPUT_SIZE
from mmhirivit.tools.cli import UsageError, add_trust_arg, run_cli
from mmhirivit.tools.configs import build_from_scratch, read_config
from mmhirivit.tools.timing import time_calls
from mmhirivit.utils.checkpoint import load_checkpoint_file

OPSET = 18


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    archs = ', '.join(HIRIViT.arch_zoo)
    parser.add_argument('model', help=f'arch name ({archs}) or config file')
    parser.add_argument('out', help='the .onnx file to write (an existing '
                        'file is not overwritten)')
    parser.add_argument('--shape', type=int, nargs=2, required=True,
                        metavar=('H', 'W'), help='input height and width')
    parser.add_argument('--checkpoint', help='weights to export (default: '
                        'the model as initialised, for checking the export)')
    parser.add_argument('--static', action='store_true',
                        help='fix height and width to --shape')
    parser.add_argument('--verify', action='store_true',
                        help='compare onnxruntime with PyTorch')
    parser.add_argument('--rtol', type=float, default=1e-3,
                        help='--verify fails above this difference relative '
                        'to the largest output magnitude (default 1e-3)')
    parser.add_argument('--runs', type=int, default=5,
                        help='timed runs per shape for the latency figures')
    add_trust_arg(parser)
    return parser.parse_args()


class TensorOutputs(torch.nn.Module):
    """A model of a config as a function from the normalised image batch to
    a flat tuple of tensors, which is what ONNX can hold."""

    def __init__(self, model):
        super().__init__()
        self.model = model
        self.kind = kind_of(model)

    def forward(self, inputs):
        if self.kind == 'segmenter':
            logits = self.model._forward(inputs)
            return F.interpolate(
                logits, size=inputs.shape[2:], mode='bilinear',
                align_corners=self.model.decode_head.align_corners)
        if self.kind == 'classifier':
            return self.model(inputs, mode='tensor')
        return tuple(flatten(self.model._forward(inputs)))


def flatten(outputs):
    if isinstance(outputs, torch.Tensor):
        yield outputs
    else:
        for item in outputs:
            yield from flatten(item)


def kind_of(model):
    """'detector', 'segmenter' or 'classifier', by the codebases' base
    classes (so subclasses defined elsewhere, like mmhirivit's
    EMADistillClassifier, count); raises UsageError for models whose graph
    ONNX tracing cannot keep and for anything else."""
    from mmdet.models.detectors import BaseDetector
    from mmpretrain.models.classifiers import BaseClassifier
    from mmseg.models.segmentors import BaseSegmentor
    if isinstance(model, BaseSegmentor):
        return 'segmenter'
    if isinstance(model, BaseClassifier):
        return 'classifier'
    if isinstance(model, BaseDetector):
        if not hasattr(model, 'roi_head'):
            return 'detector'
        raise UsageError(
            f'{type(model).__name__} cannot be exported whole: its RoI heads '
            f'pick a data-dependent number of proposals by NMS, which a '
            f'traced ONNX graph would freeze to one image\'s count. Export '
            f'its backbone (the arch name) or a one-stage detector, '
            f'segmenter or classifier config')
    raise UsageError(
        f'{type(model).__name__} is none of what can be exported: an mmdet '
        f'one-stage detector, an mmseg segmenter or an mmpretrain '
        f'classifier (or a subclass of one)')


def build(model_arg, checkpoint, trust):
    """The model to export, in eval mode with HIRI-ViT's BN folded, and a
    name for its outputs."""
    if model_arg in HIRIViT.arch_zoo:
        model = HIRIViT(arch=model_arg)
        names = [f'stage{i + 1}' for i in model.out_indices]
    elif osp.isfile(model_arg):
        model = TensorOutputs(build_from_scratch(read_config(model_arg)))
        names = None
    else:
        raise UsageError(f'{model_arg} is neither an arch '
                         f'({", ".join(HIRIViT.arch_zoo)}) nor a config file')
    if checkpoint:
        load_weights(model.model if names is None else model, checkpoint,
                     trust)
    model.eval()
    for module in model.modules():
        if isinstance(module, HIRIViT):
            module.switch_to_deploy()  # BN folded into the convs (§4.4)
            # An ONNX graph has no memory format, and channels-last views
            # of a 1x1 map (stage 5 at a 64x64 export size) fix the shapes
            # of the graph's reshapes to that size: export the NCHW network.
            module.channels_last = False
            module.to(memory_format=torch.contiguous_format)
    return model, names


def load_weights(model, checkpoint, trust):
    state = load_checkpoint_file(checkpoint, trust=trust)
    state = state.get('state_dict', state)
    if isinstance(model, HIRIViT):
        state = {k[len('backbone.'):] if k.startswith('backbone.') else k: v
                 for k, v in state.items()}
    try:
        missing, unexpected = model.load_state_dict(state, strict=False)
    except RuntimeError as err:  # shapes that differ
        raise UsageError(f'{checkpoint} does not fit the model: '
                         f'{str(err).splitlines()[1].strip()}') from None
    if missing or unexpected:
        raise UsageError(
            f'{checkpoint} does not fit the model: {len(missing)} weights '
            f'missing (e.g. {missing[:2]}), {len(unexpected)} unexpected '
            f'(e.g. {unexpected[:2]})')


def export(model, inputs, out, names, static):
    """Write ``model`` at ``inputs`` to ``out`` with torch.export (the
    exporter PyTorch maintains), height and width dynamic unless
    ``static``."""
    from torch.export import Dim
    dims = None if static else ({2: Dim.DYNAMIC, 3: Dim.DYNAMIC}, )
    torch.onnx.export(model, (inputs, ), out, dynamo=True, verbose=False,
                      input_names=['input'], output_names=names,
                      dynamic_shapes=dims, opset_version=OPSET)


def needs_static(model):
    """Whether ``model`` holds adaptive pooling to a grid (UPerNet's pyramid
    pooling): its windows depend on the input size, and an exported graph
    keeps the windows of the export shape, silently wrong at any other."""
    for module in model.modules():
        if isinstance(module, (torch.nn.AdaptiveAvgPool2d,
                               torch.nn.AdaptiveMaxPool2d)):
            size = module.output_size
            if size not in (1, (1, 1)):
                print(f'{type(module).__name__}({size}) in the model: '
                      f'exporting for the --shape size only')
                return True
    return False


def median_ms(run, runs):
    return 1000 * statistics.median(time_calls(run, runs, warmup=1))


def verify(model, out, shape, rtol, runs):
    """Run ``out`` in onnxruntime and ``model`` in PyTorch on one random
    input of ``shape``; return the row of figures and whether it passed."""
    import onnxruntime
    session = onnxruntime.InferenceSession(
        out, providers=['CPUExecutionProvider'])
    generator = torch.Generator().manual_seed(0)
    inputs = torch.randn(1, 3, *shape, generator=generator)
    with torch.no_grad():
        expected = [t.numpy() for t in flatten(model(inputs))]
    feed = {'input': inputs.numpy()}
    got = session.run(None, feed)
    if [g.shape for g in got] != [e.shape for e in expected]:
        return (f'{shape[0]}x{shape[1]}: output shapes differ: onnxruntime '
                f'{[g.shape for g in got]}, PyTorch '
                f'{[e.shape for e in expected]}'), False
    abs_diff = max(float(abs(g - e).max()) for g, e in zip(got, expected))
    scale = max(float(abs(e).max()) for e in expected) or 1.
    rel_diff = abs_diff / scale
    with torch.no_grad():
        torch_ms = median_ms(lambda: model(inputs), runs)
    ort_ms = median_ms(lambda: session.run(None, feed), runs)
    row = (f'{shape[0]}x{shape[1]}: max abs diff {abs_diff:.2e}, max rel diff '
           f'{rel_diff:.2e} (tolerance {rtol:.0e}); latency onnxruntime '
           f'{ort_ms:.1f} ms, PyTorch {torch_ms:.1f} ms (median of {runs}, '
           f'{torch.get_num_threads()} threads)')
    return row, rel_diff <= rtol


def main():
    args = parse_args()
    if osp.exists(args.out):
        raise UsageError(f'{args.out} exists; move it away or choose another '
                         f'name')
    if min(args.shape) < MIN_INPUT_SIZE:
        raise UsageError(f'--shape {args.shape[0]} {args.shape[1]}: height '
                         f'and width must be at least {MIN_INPUT_SIZE} '
                         f'(HIRI-ViT\'s largest stride)')
    model, names = build(args.model, args.checkpoint, args.trust_checkpoint)
    inputs = torch.zeros(1, 3, *args.shape)
    static = args.static or needs_static(model)
    export(model, inputs, args.out, names, static)
    kind = 'static' if static else 'dynamic height/width'
    print(f'wrote {args.out} ({kind}, opset {OPSET})')
    if not args.verify:
        return
    shapes = [tuple(args.shape)]
    if not static:
        height, width = args.shape
        other = width - 32 if width - 32 >= MIN_INPUT_SIZE else width + 32
        shapes.append((height + 64, other))
    failed = []
    for shape in shapes:
        row, passed = verify(model, args.out, shape, args.rtol, args.runs)
        print(('ok      ' if passed else 'FAILED  ') + row)
        if not passed:
            failed.append(row)
    if failed:
        raise UsageError(f'onnxruntime and PyTorch differ: {failed[0]}')


if __name__ == '__main__':
    run_cli(main)
