"""The tensor-only inference of two-stage detectors that the exporter traces
computes what mmdet's ``predict`` computes, and the numpy glue pastes masks
as mmdet does."""
import numpy as np
import pytest
import torch
from helpers import repo_path
from mmdet.models.roi_heads.mask_heads.fcn_mask_head import _do_paste_mask

from mmhirivit.analysis.builders import (build_from_scratch, data_samples,
                                         read_config)
from mmhirivit.deploy.detection_graph import (TwoStageDetectorGraph,
                                              UnsupportedModelError)
from mmhirivit.deploy.glue import (agree, as_arrays, match, paste_masks,
                                   to_original_image)


def _detector(config, **changes):
    """``config``'s detector with HIRI-ViT-T, every box kept whatever its
    score (random weights score low), and ``changes`` merged in."""
    cfg = read_config(repo_path(config))
    cfg.model.backbone.arch = 't'
    cfg.model.neck.in_channels = [32, 64, 128, 256]
    rcnn = cfg.model.test_cfg.rcnn
    if 'score_thr' in rcnn:
        rcnn.score_thr = 0.
    cfg.merge_from_dict(changes)
    torch.manual_seed(0)
    return build_from_scratch(cfg).eval()


@pytest.mark.parametrize('config', [
    'configs/maskrcnn_hirivit_s_1x_coco.py',
    'configs/cascade_maskrcnn_hirivit_s_3x_coco.py',
    'configs/sparse_rcnn_hirivit_s_3x_coco.py',
])
def test_graph_computes_what_mmdet_predicts(config):
    detector = _detector(config)
    inputs = torch.randn(1, 3, 128, 160)
    with torch.no_grad():
        boxes, scores, labels, probs = TwoStageDetectorGraph(detector)(
            inputs, torch.tensor([128, 160]))
        [expected] = detector.predict(inputs, data_samples(detector, 128, 160))
    boxes, masks = to_original_image(boxes.numpy(), probs.numpy(), (1., 1.),
                                     (128, 160))
    got = dict(boxes=boxes, scores=scores.numpy(), labels=labels.numpy(),
               masks=masks)
    figures = match(as_arrays(expected.pred_instances), got)
    assert figures['expected'] == 100 and agree(figures)
    assert figures['min_box_iou'] > 0.9999
    assert figures['max_score_diff'] < 1e-5


def test_graph_clips_boxes_to_the_image_inside_the_padding():
    detector = _detector('configs/maskrcnn_hirivit_s_1x_coco.py')
    with torch.no_grad():
        boxes = TwoStageDetectorGraph(detector)(
            torch.randn(1, 3, 128, 160), torch.tensor([100, 90]))[0]
    assert boxes[:, 0::2].max() <= 90 and boxes[:, 1::2].max() <= 100


def test_pasted_masks_are_mmdets():
    generator = torch.Generator().manual_seed(0)
    probs = torch.rand(6, 28, 28, generator=generator)
    corners = torch.rand(6, 2, generator=generator) * 80 - 10
    boxes = torch.cat([corners, corners + 5 + torch.rand(6, 2) * 60], dim=1)
    expected = _do_paste_mask(probs[:, None], boxes, 90, 110,
                              skip_empty=False)[0] >= 0.5
    got = paste_masks(probs.numpy(), boxes.numpy(), 90, 110)
    # float32 against float64 arithmetic: a pixel may fall either side of
    # the threshold
    assert (got != expected.numpy()).mean() < 1e-3


def test_boxes_return_to_the_original_image():
    boxes = np.array([[10., 20., 30., 60.]], dtype=np.float32)
    probs = np.ones((1, 28, 28), dtype=np.float32)
    back, masks = to_original_image(boxes, probs, (2., 4.), (20, 30))
    assert back.tolist() == [[5., 5., 15., 15.]]
    assert masks.shape == (1, 20, 30) and masks[0, 5:15, 5:15].all()
    assert masks.sum() == 100


def test_a_roi_layer_without_an_onnx_form_is_named():
    detector = _detector(
        'configs/maskrcnn_hirivit_s_1x_coco.py',
        **{'model.roi_head.bbox_roi_extractor.roi_layer':
           dict(_delete_=True, type='RoIPool', output_size=7)})
    with pytest.raises(UnsupportedModelError, match='RoIPool'):
        TwoStageDetectorGraph(detector)


def _detections(boxes, scores, labels):
    return dict(boxes=np.array(boxes, dtype=np.float32),
                scores=np.array(scores, dtype=np.float32),
                labels=np.array(labels))


@pytest.mark.parametrize('score, same', [(0.5, True), (0.6, False)])
def test_only_boxes_tied_at_the_cut_may_differ(score, same):
    """Which of two boxes tied at the lowest kept score make the
    max_per_img cut is decided by a runtime's last digits; a box above the
    cut must be there."""
    boxes = [[0, 0, 10, 10], [20, 20, 30, 30], [40, 40, 50, 50]]
    scores = [0.9, score, 0.5]
    expected = _detections(boxes, scores, [0, 1, 2])
    got = _detections([boxes[0], [60, 60, 70, 70], boxes[2]], scores,
                      [0, 1, 2])
    figures = match(expected, got)
    assert figures['matched'] == 2 and agree(figures) is same
    shifted = _detections([[0, 0, 10, 10.5]] + boxes[1:], expected['scores'],
                          expected['labels'])
    assert not agree(match(expected, shifted))  # box IoU 0.95
