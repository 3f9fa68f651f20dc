"""The COCO configs' test-time augmentation merges masks with their boxes."""
import torch
from mmdet.structures import DetDataSample
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData

from mmhirivit.models import InstanceSegTTAModel

SHAPE = (8, 10)


def _view(flip, box, mask_cols, score, masks=True):
    sample = DetDataSample(metainfo=dict(
        ori_shape=SHAPE, flip=flip, flip_direction='horizontal' if flip
        else None, img_id=0))
    pred = InstanceData(bboxes=torch.tensor([box], dtype=torch.float),
                        scores=torch.tensor([score]),
                        labels=torch.tensor([1]))
    if masks:
        mask = torch.zeros(1, *SHAPE, dtype=torch.bool)
        mask[:, 2:5, mask_cols] = True
        pred.masks = mask
    sample.pred_instances = pred
    return sample


class _Detector(torch.nn.Module):
    """Stands in for the wrapped detector: merging never calls it."""

    def test_step(self, data):
        raise AssertionError('not called')


def _model():
    return InstanceSegTTAModel(
        module=_Detector(),
        tta_cfg=ConfigDict(nms=dict(type='nms', iou_threshold=0.5),
                           max_per_img=100))


def test_flipped_view_is_flipped_back_and_merged_with_its_mask():
    # The object in columns 1-3; the flipped view sees it in columns 6-8.
    plain = _view(False, [1, 2, 4, 5], slice(1, 4), 0.6)
    flipped = _view(True, [6, 2, 9, 5], slice(6, 9), 0.9)
    [merged] = _model().merge_preds([[plain, flipped]])
    pred = merged.pred_instances
    assert len(pred) == 1  # one object after NMS
    assert pred.scores.item() == torch.tensor(0.9).item()
    assert pred.bboxes.tolist() == [[1., 2., 4., 5.]]
    expected = torch.zeros(SHAPE, dtype=torch.bool)
    expected[2:5, 1:4] = True
    assert torch.equal(pred.masks[0], expected)


def test_views_without_masks_merge_as_mmdets_model():
    views = [_view(False, [1, 2, 4, 5], None, 0.6, masks=False),
             _view(True, [6, 2, 9, 5], None, 0.9, masks=False)]
    [merged] = _model().merge_preds([views])
    assert 'masks' not in merged.pred_instances
    assert merged.pred_instances.bboxes.tolist() == [[1., 2., 4., 5.]]
