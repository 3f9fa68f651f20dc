"""Evaluate a two-stage detector exported by pytorch2onnx.py in onnxruntime
on a config's test set; with --checkpoint, compare it with the PyTorch
model on the same images.

The config's own test pipeline, data preprocessor, evaluator and MMEngine
test loop run unchanged; only the model's step is the ONNX file in
onnxruntime, with the boxes scaled back and the masks pasted by
``mmhirivit.deploy.glue``. With ``--checkpoint`` the PyTorch
model of the config (as ``tools/test.py`` runs it) predicts each batch too:
the tool prints both evaluations, and how the detections pair up (same
label, box IoU >= 0.99, mask IoU >= 0.98), and fails when any image's
detections differ or a metric differs by more than ``--tolerance``.

Example::

    python tools/deployment/test_onnx.py \
        configs/maskrcnn_hirivit_t_demo_toy.py maskrcnn.onnx \
        --checkpoint work_dirs/maskrcnn_hirivit_t_demo_toy/iter_920.pth
"""
import argparse
import copy
import os.path as osp

import numpy as np
import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner
from mmengine.structures import InstanceData

import mmhirivit  # noqa: F401  (registers the models)
from mmhirivit.cli import UsageError, add_common_args, load_config, run_cli
from mmhirivit.deploy.glue import (agree, as_arrays, describe, match,
                                   open_session, to_original_image)
from mmhirivit.engine.setup import check_data, missing_local
from mmhirivit.utils.checkpoint import mmengine_loading


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    add_common_args(parser)
    parser.add_argument('onnx', help='the .onnx file of pytorch2onnx.py')
    parser.add_argument('--checkpoint',
                        help='also run the config\'s PyTorch model with these '
                        'weights and compare')
    parser.add_argument('--tolerance', type=float, default=0.005,
                        help='largest difference allowed between the two '
                        'evaluations\' metrics (default 0.005)')
    return parser.parse_args()


class OnnxDetector(BaseModel):
    """An exported two-stage detector as MMEngine's test loop runs a model:
    the config's data preprocessor, then the graph per image, then the
    boxes and masks in the original image. With a PyTorch ``reference``,
    each batch also goes through its ``predict``; its results go to
    ``reference_evaluator`` and how they pair up to ``figures``."""

    def __init__(self, session, data_preprocessor, mask_thr, reference=None,
                 reference_evaluator=None):
        super().__init__(data_preprocessor=data_preprocessor)
        self.session = session
        self.mask_thr = mask_thr
        self.reference = reference
        self.reference_evaluator = reference_evaluator
        self.figures = []

    def forward(self, *args, **kwargs):
        raise NotImplementedError('an ONNX model only tests')

    def test_step(self, data):
        data = self.data_preprocessor(data, False)
        inputs, samples = data['inputs'], data['data_samples']
        if self.reference is not None:
            with torch.no_grad():
                expected = self.reference.predict(inputs,
                                                  copy.deepcopy(samples))
            self.reference_evaluator.process(expected, data)
        for index, (image, sample) in enumerate(zip(inputs, samples)):
            meta = sample.metainfo
            boxes, scores, labels, probs = self.session.run(None, {
                'input': image[None].numpy(),
                'image_size': np.array(meta['img_shape'][:2])})
            boxes, masks = to_original_image(boxes, probs,
                                             meta['scale_factor'],
                                             meta['ori_shape'], self.mask_thr)
            got = dict(boxes=boxes, scores=scores, labels=labels, masks=masks)
            if self.reference is not None:
                self.figures.append(
                    match(as_arrays(expected[index].pred_instances), got))
            sample.pred_instances = InstanceData(
                bboxes=torch.from_numpy(boxes),
                scores=torch.from_numpy(scores),
                labels=torch.from_numpy(labels))
            if masks is not None:
                sample.pred_instances.masks = torch.from_numpy(masks)
        return samples


def summary(figures):
    """The per-image pairings in one: totals, and the worst overlaps."""
    total = {key: sum(f[key] for f in figures)
             for key in ('expected', 'got', 'matched')}
    total['min_box_iou'] = min(f['min_box_iou'] for f in figures)
    mask_ious = [f['min_mask_iou'] for f in figures
                 if f['min_mask_iou'] is not None]
    total['min_mask_iou'] = min(mask_ious) if mask_ious else None
    total['max_score_diff'] = max(f['max_score_diff'] for f in figures)
    total['unpaired_at_cut'] = all(f['unpaired_at_cut'] for f in figures)
    return total


def main():
    args = parse_args()
    cfg = load_config(args)
    if not osp.isfile(args.onnx):
        raise UsageError(f'ONNX file not found: {args.onnx}')
    try:
        session = open_session(args.onnx)
    except ValueError as err:
        raise UsageError(str(err)) from None
    if args.checkpoint and missing_local(args.checkpoint):
        raise UsageError(f'checkpoint file not found: {args.checkpoint}')
    check_data(cfg, ['test_dataloader'])
    cfg.model.get('backbone', {}).pop('init_cfg', None)
    cfg.load_from = None
    with mmengine_loading(trust=args.trust_checkpoint):
        runner = Runner.from_cfg(cfg)
        model = runner.model
        if not hasattr(model, 'roi_head'):
            raise UsageError(f'{args.config}: {type(model).__name__} is not '
                             f'a two-stage detector; this tool evaluates '
                             f'what pytorch2onnx.py exports of those')
        reference = evaluator = None
        if args.checkpoint:
            runner.load_checkpoint(args.checkpoint, map_location='cpu')
            reference = model.eval()
            evaluator = runner.build_evaluator(cfg.test_evaluator)
            evaluator.dataset_meta = runner.test_dataloader.dataset.metainfo
        mask_thr = model.roi_head.test_cfg.get('mask_thr_binary', 0.5)
        runner.model = OnnxDetector(session, model.data_preprocessor,
                                    mask_thr, reference, evaluator)
        metrics = runner.test()
    if reference is None:
        return
    expected = evaluator.evaluate(len(runner.test_dataloader.dataset))
    failed = []
    for key, value in metrics.items():
        if not isinstance(value, float):
            continue
        diff = abs(value - expected[key])
        print(f'{key}: PyTorch {expected[key]:.4f}, onnxruntime {value:.4f}, '
              f'difference {diff:.4f}')
        if diff > args.tolerance:
            failed.append(f'{key} differs by {diff:.4f} (tolerance '
                          f'{args.tolerance})')
    figures = runner.model.figures
    agreeing = sum(agree(f) for f in figures)
    print(f'{agreeing} of {len(figures)} images with the same detections; '
          f'all images: {describe(summary(figures))}')
    if agreeing < len(figures):
        failed.append(f'{len(figures) - agreeing} images differ')
    if failed:
        raise UsageError(f'onnxruntime and PyTorch differ: '
                         f'{"; ".join(failed)}')


if __name__ == '__main__':
    run_cli(main)
