"""Export HIRI-ViT or HRViT, or a whole model of a config, to ONNX, and
check the file in onnxruntime.

MODEL is an arch name (HIRI-ViT's t, s, b, l: the backbone, with the dense
configs' outputs, stages 2-5; HRViT's b1, b2, b3: its four branches) or a
config: a two-stage detector (Mask R-CNN, Cascade
Mask R-CNN, Sparse R-CNN: to its detections, NMS and RoIAlign inside the
graph), a one-stage detector (to its heads' class and box outputs per FPN
level; decoding boxes and NMS stay with mmdet's
``bbox_head.predict_by_feat``), a segmenter (to the class scores at the
input size) or a classifier (to the class scores). The input is the image as
the config's data preprocessor hands it to the model: (N, 3, H, W),
normalised, RGB; a two-stage detector takes one image and, as a second
input, the size (h, w) of the image inside the padding. Height and width are
dynamic unless ``--static``, or unless the model pools adaptively to a grid
(UPerNet's pyramid pooling), whose file then holds for ``--shape`` only.

``--verify`` runs the file in onnxruntime and the model in PyTorch on the
same random input, at ``--shape`` and (when dynamic) at a second shape, and
prints the median latency of each and how they differ: for tensors, the
largest absolute difference and the largest difference relative to the
output's largest magnitude (it fails above ``--rtol``); for a two-stage
detector, its detections in onnxruntime (masks pasted by
``mmhirivit.deploy.glue``) paired with those of mmdet's
``predict`` (it fails unless they pair up one to one with the same labels,
box IoU >= 0.99 and mask IoU >= 0.98). ``tools/deployment/test_onnx.py``
evaluates an exported detector on a config's test set.

Needs the deploy extras: ``pip install -e .[deploy]`` (onnx, onnxruntime).

Example::

    python tools/deployment/pytorch2onnx.py s hirivit_s.onnx \
        --shape 448 448 --verify
    python tools/deployment/pytorch2onnx.py \
        configs/maskrcnn_hirivit_t_demo_toy.py maskrcnn.onnx --shape 384 384 \
        --checkpoint work_dirs/maskrcnn_hirivit_t_demo_toy/iter_920.pth \
        --verify
"""
import argparse
import os.path as osp
import statistics
import time
from functools import partial

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.config import DictAction

import mmhirivit  # noqa: F401  (registers the models)
from mmhirivit.analysis.builders import (build_from_scratch, data_samples,
                                         read_config)
from mmhirivit.analysis.timing import time_calls
from mmhirivit.cli import UsageError, add_trust_arg, run_cli
from mmhirivit.deploy.detection_graph import (INPUT_NAMES, OUTPUT_NAMES,
                                              TRANSLATIONS,
                                              TwoStageDetectorGraph,
                                              UnsupportedModelError)
from mmhirivit.deploy.glue import (agree, as_arrays, describe, match,
                                   open_session, to_original_image)
from mmhirivit.models import HIRIViT, HRViT
from mmhirivit.models.backbones.hirivit import MIN_INPUT_SIZE
from mmhirivit.utils.checkpoint import load_checkpoint_file
from mmhirivit.utils.files import atomic_output, check_output

OPSET = 18


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    archs = ', '.join([*HIRIViT.arch_zoo, *HRViT.arch_zoo])
    parser.add_argument('model', help=f'arch name ({archs}) or config file')
    parser.add_argument('out', help='the .onnx file to write (an existing '
                        'file or a symlink is replaced only with --force)')
    parser.add_argument('--shape', type=int, nargs=2, required=True,
                        metavar=('H', 'W'), help='input height and width')
    parser.add_argument('--checkpoint', help='weights to export (default: '
                        'the model as initialised with seed 0, for checking '
                        'the export)')
    parser.add_argument('--static', action='store_true',
                        help='fix height and width to --shape')
    parser.add_argument('--verify', action='store_true',
                        help='compare onnxruntime with PyTorch')
    parser.add_argument('--force', action='store_true',
                        help='replace an existing OUT file or a symlink '
                        'there (the link itself, never what it points to)')
    parser.add_argument('--rtol', type=float, default=1e-3,
                        help='--verify fails above this difference relative '
                        'to the largest output magnitude (default 1e-3)')
    parser.add_argument('--runs', type=int, default=5,
                        help='timed runs per shape for the latency figures')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, key=value pairs, e.g. '
        'model.test_cfg.rcnn.score_thr=0.01')
    add_trust_arg(parser)
    return parser.parse_args()


class TensorOutputs(torch.nn.Module):
    """A model of a config as a function from the normalised image batch to
    a flat tuple of tensors, which is what ONNX can hold."""

    def __init__(self, model, kind):
        super().__init__()
        self.model = model
        self.kind = kind

    def forward(self, inputs):
        if self.kind == 'segmenter':
            logits = self.model(inputs, mode='tensor')
            return F.interpolate(
                logits, size=inputs.shape[2:], mode='bilinear',
                align_corners=self.model.decode_head.align_corners)
        if self.kind == 'classifier':
            return self.model(inputs, mode='tensor')
        return tuple(flatten(self.model(inputs, mode='tensor')))


def flatten(outputs):
    if isinstance(outputs, torch.Tensor):
        yield outputs
    else:
        for item in outputs:
            yield from flatten(item)


def kind_of(model):
    """'two-stage detector', 'detector', 'segmenter' or 'classifier', by the
    codebases' base classes (so subclasses defined elsewhere, like
    mmhirivit's EMADistillClassifier, count); raises UsageError for anything
    else."""
    from mmdet.models.detectors import BaseDetector
    from mmpretrain.models.classifiers import BaseClassifier
    from mmseg.models.segmentors import BaseSegmentor
    if isinstance(model, BaseSegmentor):
        return 'segmenter'
    if isinstance(model, BaseClassifier):
        return 'classifier'
    if isinstance(model, BaseDetector):
        return 'two-stage detector' if hasattr(model, 'roi_head') else \
            'detector'
    raise UsageError(
        f'{type(model).__name__} is none of what can be exported: an mmdet '
        f'detector, an mmseg segmenter or an mmpretrain classifier (or a '
        f'subclass of one)')


def build(model_arg, checkpoint, trust, cfg_options):
    """The model to export, in eval mode with HIRI-ViT's BN folded, and the
    names of its outputs (None: numbered)."""
    torch.manual_seed(0)  # without --checkpoint, the same weights each run
    if model_arg in HIRIViT.arch_zoo:
        model = inner = HIRIViT(arch=model_arg)
        names = [f'stage{i + 1}' for i in model.out_indices]
    elif model_arg in HRViT.arch_zoo:
        model = inner = HRViT(arch=model_arg)
        names = [f'branch{i + 1}' for i in model.out_indices]
    elif osp.isfile(model_arg):
        cfg = read_config(model_arg)
        if cfg_options:
            cfg.merge_from_dict(cfg_options)
        inner = build_from_scratch(cfg)
        kind = kind_of(inner)
        if kind == 'two-stage detector':
            try:
                model, names = TwoStageDetectorGraph(inner), OUTPUT_NAMES
            except UnsupportedModelError as err:
                raise UsageError(str(err)) from None
        else:
            model, names = TensorOutputs(inner, kind), None
    else:
        archs = ', '.join([*HIRIViT.arch_zoo, *HRViT.arch_zoo])
        raise UsageError(f'{model_arg} is neither an arch ({archs}) nor a '
                         f'config file')
    if checkpoint:
        load_weights(inner, checkpoint, trust)
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
    if isinstance(model, (HIRIViT, HRViT)):
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


def example_inputs(model, shape):
    """What ``model`` is called with for one image of ``shape``: the image
    and, for a two-stage detector, its size inside the padding."""
    image = torch.zeros(1, 3, *shape)
    if isinstance(model, TwoStageDetectorGraph):
        return image, torch.tensor(shape)
    return (image, )


def export(model, inputs, out, names, static):
    """Write ``model`` at ``inputs`` to ``out`` with torch.export (the
    exporter PyTorch maintains), height and width dynamic unless
    ``static``."""
    from torch.export import Dim
    dims = None if static else (
        ({2: Dim.DYNAMIC, 3: Dim.DYNAMIC}, ) + (None, ) * (len(inputs) - 1))
    input_names = INPUT_NAMES if len(inputs) > 1 else ['input']
    # One file, weights inside (the largest configs stay under protobuf's
    # 2 GiB), rather than torch's default of a second OUT.data file.
    torch.onnx.export(model, inputs, out, dynamo=True, verbose=False,
                      input_names=input_names, output_names=names,
                      dynamic_shapes=dims, opset_version=OPSET,
                      external_data=False,
                      custom_translation_table=TRANSLATIONS)


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


def compare_tensors(model, session, inputs, rtol):
    """Run ``model`` and the onnxruntime ``session`` on ``inputs``: the
    largest differences in words, whether they are within ``rtol``, and
    the two runs."""
    feed = {'input': inputs.numpy()}
    expected = [t.numpy() for t in flatten(model(inputs))]
    got = session.run(None, feed)
    if [g.shape for g in got] != [e.shape for e in expected]:
        return (f'output shapes differ: onnxruntime {[g.shape for g in got]},'
                f' PyTorch {[e.shape for e in expected]}'), False, None, None
    abs_diff = max(float(abs(g - e).max()) for g, e in zip(got, expected))
    scale = max(float(abs(e).max()) for e in expected) or 1.
    rel_diff = abs_diff / scale
    text = (f'max abs diff {abs_diff:.2e}, max rel diff {rel_diff:.2e} '
            f'(tolerance {rtol:.0e})')
    return (text, rel_diff <= rtol, lambda: model(inputs),
            lambda: session.run(None, feed))


def compare_detections(graph, session, inputs):
    """Run mmdet's ``predict`` of ``graph``'s detector and the onnxruntime
    ``session`` (with the masks pasted by ``detection_glue``, as a caller
    would) on ``inputs``: how their detections pair up in words, whether
    they agree, and the two runs."""
    detector, shape = graph.detector, tuple(inputs.shape[2:])
    samples = data_samples(detector, *shape)
    feed = {'input': inputs.numpy(), 'image_size': np.array(shape)}
    mask_thr = graph.test_cfg.get('mask_thr_binary', 0.5)

    def run_torch():
        return detector.predict(inputs, samples)[0].pred_instances

    def run_ort():
        boxes, scores, labels, probs = session.run(None, feed)
        boxes, masks = to_original_image(boxes, probs, (1., 1.), shape,
                                         mask_thr)
        return dict(boxes=boxes, scores=scores, labels=labels, masks=masks)

    figures = match(as_arrays(run_torch()), run_ort())
    text = describe(figures)
    if not figures['expected']:
        text += (' (nothing to compare: no box scored above the threshold '
                 'on the random verification input; --cfg-options '
                 'model.test_cfg.rcnn.score_thr=0 keeps every box, '
                 'test_onnx.py compares on real images)')
    return text, agree(figures), run_torch, run_ort


def verify(model, session, shape, rtol, runs):
    """Run the onnxruntime ``session`` and ``model`` in PyTorch on one random
    input of ``shape``; return the row of figures and whether it passed."""
    generator = torch.Generator().manual_seed(0)
    inputs = torch.randn(1, 3, *shape, generator=generator)
    compare = compare_detections if isinstance(
        model, TwoStageDetectorGraph) else partial(compare_tensors, rtol=rtol)
    with torch.no_grad():
        text, passed, run_torch, run_ort = compare(model, session, inputs)
        if run_torch is None:  # nothing to time
            return f'{shape[0]}x{shape[1]}: {text}', False
        torch_ms = median_ms(run_torch, runs)
    ort_ms = median_ms(run_ort, runs)
    row = (f'{shape[0]}x{shape[1]}: {text}; latency onnxruntime '
           f'{ort_ms:.1f} ms, PyTorch {torch_ms:.1f} ms (median of {runs}, '
           f'{torch.get_num_threads()} threads)')
    return row, passed


def main():
    args = parse_args()
    check_output(args.out, args.force)
    if min(args.shape) < MIN_INPUT_SIZE:
        raise UsageError(f'--shape {args.shape[0]} {args.shape[1]}: height '
                         f'and width must be at least {MIN_INPUT_SIZE} '
                         f'(HIRI-ViT\'s largest stride)')
    model, names = build(args.model, args.checkpoint, args.trust_checkpoint,
                         args.cfg_options)
    static = args.static or needs_static(model)
    start = time.perf_counter()
    with atomic_output(args.out) as partial:
        export(model, example_inputs(model, tuple(args.shape)), partial,
               names, static)
    seconds = time.perf_counter() - start
    kind = 'static' if static else 'dynamic height/width'
    print(f'wrote {args.out} ({kind}, opset {OPSET}): '
          f'{osp.getsize(args.out) / 2**20:.1f} MiB in {seconds:.1f} s')
    if not args.verify:
        return
    shapes = [tuple(args.shape)]
    if not static:
        height, width = args.shape
        other = width - 32 if width - 32 >= MIN_INPUT_SIZE else width + 32
        shapes.append((height + 64, other))
    session = open_session(args.out)
    failed = []
    for shape in shapes:
        row, passed = verify(model, session, shape, args.rtol, args.runs)
        print(('ok      ' if passed else 'FAILED  ') + row)
        if not passed:
            failed.append(row)
    if failed:
        raise UsageError(f'onnxruntime and PyTorch differ: {failed[0]}')


if __name__ == '__main__':
    run_cli(main)
