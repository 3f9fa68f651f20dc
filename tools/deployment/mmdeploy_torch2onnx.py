"""Run mmdeploy's own ``torch2onnx`` on a detector config, with PyTorch's
legacy (TorchScript) ONNX exporter that mmdeploy's rewriters are written
for, and say in one line how it ends.

mmdeploy is not a dependency of this project: its newest release (1.3.1)
pins ``protobuf<=3.20.2``, which onnx 1.23 cannot use. Install it beside the
environment without its dependencies, e.g. the fork that only lifts that pin
(same code)::

    pip install --no-deps --target /tmp/mmdeploy \
        mmdeploy-protobuf-upgrade==1.3.1 aenum multiprocess dill \
        prettytable wcwidth terminaltables
    PYTHONPATH=/tmp/mmdeploy python tools/deployment/mmdeploy_torch2onnx.py \
        configs/maskrcnn_hirivit_t_demo_toy.py \
        work_dirs/maskrcnn_hirivit_t_demo_toy/iter_920.pth \
        data/toy/coco/val2017/000000000000.jpg /tmp/mmdeploy_out

The deploy config is mmdeploy's instance segmentation for onnxruntime with
dynamic shapes (its repository's
``configs/mmdet/instance-seg/instance-seg_onnxruntime_dynamic.py``, which
the wheel does not carry), written out here; ``--opset`` replaces its 11.
"""
import argparse
import functools
import os.path as osp

import torch

import mmhirivit  # noqa: F401  (registers the models)
from mmhirivit.cli import UsageError, add_trust_arg, run_cli
from mmhirivit.utils.checkpoint import mmengine_loading


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', help='detector config')
    parser.add_argument('checkpoint', help='its weights')
    parser.add_argument('image', help='an image to trace with')
    parser.add_argument('work_dir', help='where mmdeploy writes end2end.onnx')
    parser.add_argument('--opset', type=int, default=11,
                        help='ONNX opset (mmdeploy\'s config: 11)')
    add_trust_arg(parser)
    return parser.parse_args()


def deploy_config(opset):
    from mmengine.config import Config
    return Config(dict(
        onnx_config=dict(
            type='onnx', export_params=True,
            keep_initializers_as_inputs=False, opset_version=opset,
            save_file='end2end.onnx', input_names=['input'],
            output_names=['dets', 'labels', 'masks'], input_shape=None,
            optimize=True,
            dynamic_axes={
                'input': {0: 'batch', 2: 'height', 3: 'width'},
                'dets': {0: 'batch', 1: 'num_dets'},
                'labels': {0: 'batch', 1: 'num_dets'},
                'masks': {0: 'batch', 1: 'num_dets', 2: 'height',
                          3: 'width'}}),
        codebase_config=dict(
            type='mmdet', task='ObjectDetection', model_type='end2end',
            post_processing=dict(
                score_threshold=0.05, confidence_threshold=0.005,
                iou_threshold=0.5, max_output_boxes_per_class=200,
                pre_top_k=5000, keep_top_k=100, background_label_id=-1,
                export_postprocess_mask=False)),
        backend_config=dict(type='onnxruntime')))


def main():
    args = parse_args()
    for path in (args.config, args.checkpoint, args.image):
        if not osp.isfile(path):
            raise UsageError(f'file not found: {path}')
    try:
        from mmdeploy.apis import torch2onnx
    except ImportError as err:
        raise UsageError(f'mmdeploy does not import ({err}); see this '
                         f'script\'s docstring for installing it') from None
    # mmdeploy calls torch.onnx.export with the legacy exporter's
    # arguments; torch 2.14 would route that call to torch.export.
    export = torch.onnx.export
    torch.onnx.export = functools.partial(export, dynamo=False)
    try:
        with mmengine_loading(trust=args.trust_checkpoint):
            torch2onnx(args.image, args.work_dir, 'end2end.onnx',
                       deploy_config(args.opset), args.config,
                       args.checkpoint, device='cpu')
    except Exception as err:  # the report is the point of this script
        raise UsageError(f'mmdeploy torch2onnx failed: '
                         f'{type(err).__name__}: '
                         f'{str(err).splitlines()[0]}') from None
    finally:
        torch.onnx.export = export
    print(f'mmdeploy wrote {osp.join(args.work_dir, "end2end.onnx")}')


if __name__ == '__main__':
    run_cli(main)
