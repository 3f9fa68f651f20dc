"""Test-time augmentation for detectors that also predict masks."""
import torch
from mmcv.ops import batched_nms
from mmdet.models.test_time_augs import DetTTAModel
from mmengine.structures import InstanceData

from mmhirivit.registry import MODELS

# The mask axes a flip reverses, for (N, H, W) masks.
FLIP_DIMS = {'horizontal': (-1, ), 'vertical': (-2, ), 'diagonal': (-2, -1)}


@MODELS.register_module()
class InstanceSegTTAModel(DetTTAModel):
    """mmdet's :class:`DetTTAModel`, keeping the masks of each box.

    mmdet's model merges the boxes of every view (flipped back) with NMS and
    refuses predictions with masks. Here each view's masks, already at the
    original image size, are flipped back like their boxes and the masks of
    the boxes NMS keeps are kept with them, so Mask R-CNN and Cascade Mask
    R-CNN give bbox and segm results under test-time augmentation. Views
    without masks are merged exactly as :class:`DetTTAModel` merges them.

    Args:
        tta_cfg (dict): ``nms`` (as for ``mmcv.ops.batched_nms``) and
            ``max_per_img``, as for :class:`DetTTAModel`.
    """

    def _merge_single_sample(self, data_samples):
        if data_samples[0].pred_instances.get('masks') is None:
            return super()._merge_single_sample(data_samples)
        preds = [sample.pred_instances for sample in data_samples]
        metas = [sample.metainfo for sample in data_samples]
        bboxes, scores = self.merge_aug_bboxes(
            [pred.bboxes for pred in preds], [pred.scores for pred in preds],
            metas)
        if bboxes.numel() == 0:
            return data_samples[0]
        labels = torch.cat([pred.labels for pred in preds])
        masks = torch.cat([
            unflip_masks(pred.masks, meta)
            for pred, meta in zip(preds, metas)
        ])
        dets, keep = batched_nms(bboxes, scores, labels, self.tta_cfg.nms)
        keep = keep[:self.tta_cfg.max_per_img]
        dets = dets[:self.tta_cfg.max_per_img]
        merged = data_samples[0]
        merged.pred_instances = InstanceData(
            bboxes=dets[:, :-1], scores=dets[:, -1], labels=labels[keep],
            masks=masks[keep])
        return merged


def unflip_masks(masks, meta):
    """``masks`` of a view, in the orientation of the original image."""
    if not meta.get('flip'):
        return masks
    return torch.flip(masks, FLIP_DIMS[meta['flip_direction']])
