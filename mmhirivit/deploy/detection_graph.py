"""Two-stage detectors (Mask R-CNN, Cascade Mask R-CNN, Sparse R-CNN) as one
function of tensors, for ``torch.onnx.export``.

mmdet's ``predict`` carries image metadata in Python objects and branches on
how many boxes survive each step, which a traced graph cannot hold. This is
the same inference written over tensors only, with mmdet's own modules,
coders and settings: the RPN picks its top proposals per level and merges
the levels by NMS; the RoI heads pool with ``torchvision.ops.roi_align``
(exported as ONNX ``RoiAlign``) and end in a class-aware NMS
(:func:`bounded_nms`, exported as ONNX ``NonMaxSuppression``). The
number of boxes at each step depends on the data, as in mmdet; the outputs
hold at most ``max_per_img`` detections.

What stays outside the graph is the part that needs the original image:
scaling the boxes back to it and pasting each 28x28 mask into it
(:mod:`mmhirivit.deploy.glue`, numpy only).
"""
import torch
from mmcv.ops import RoIAlign
from mmdet.models.dense_heads import EmbeddingRPNHead, RPNHead
from mmdet.models.roi_heads import (CascadeRoIHead, SparseRoIHead,
                                    StandardRoIHead)
from mmdet.models.task_modules.coders import DeltaXYWHBBoxCoder
from mmdet.models.task_modules.coders.delta_xywh_bbox_coder import delta2bbox
from mmdet.structures.bbox import bbox_cxcywh_to_xyxy
from onnxscript import opset18 as op
from torchvision.ops import nms, roi_align


class UnsupportedModelError(ValueError):
    """A model, or a part of one, that the exporter does not implement; the
    message names it."""


#: The graph's inputs and outputs, in order.
INPUT_NAMES = ['input', 'image_size']
OUTPUT_NAMES = ['boxes', 'scores', 'labels', 'masks']


def stages(part):
    """A cascade's list of per-stage modules, or a single module in a list."""
    return list(part) if isinstance(part, torch.nn.ModuleList) else [part]


def check_exportable(detector):
    """Raise :class:`UnsupportedModelError`, naming the part, for a
    two-stage detector
    whose parts :class:`TwoStageDetectorGraph` does not implement."""
    roi_head = detector.roi_head
    roi_heads = {StandardRoIHead: RPNHead, CascadeRoIHead: RPNHead,
                 SparseRoIHead: EmbeddingRPNHead}
    if type(roi_head) not in roi_heads:
        raise UnsupportedModelError(
            f'{type(roi_head).__name__} is not one of the RoI heads the '
            f'exporter implements: '
            f'{", ".join(h.__name__ for h in roi_heads)}')
    rpn_type = roi_heads[type(roi_head)]
    if type(detector.rpn_head) is not rpn_type:
        raise UnsupportedModelError(
            f'{type(detector.rpn_head).__name__}: the exporter implements '
            f'{rpn_type.__name__} with {type(roi_head).__name__}')
    extractors = stages(roi_head.bbox_roi_extractor)
    if roi_head.with_mask:
        extractors += stages(roi_head.mask_roi_extractor)
    for extractor in extractors:
        for layer in extractor.roi_layers:
            if not isinstance(layer, RoIAlign) or layer.pool_mode != 'avg':
                raise UnsupportedModelError(
                    f'RoI layer {layer!r}: the exporter maps RoIAlign with '
                    f'pool_mode="avg" to ONNX RoiAlign, and nothing else')
    heads = stages(roi_head.bbox_head)
    coders = [head.bbox_coder for head in heads]
    if rpn_type is RPNHead:
        coders.append(detector.rpn_head.bbox_coder)
    for coder in coders:
        if type(coder) is not DeltaXYWHBBoxCoder:
            raise UnsupportedModelError(
                f'box coder {type(coder).__name__}: the exporter implements '
                f'DeltaXYWHBBoxCoder only')
    for head in heads:
        if getattr(head, 'custom_activation', False):
            raise UnsupportedModelError(
                f'{type(head).__name__} with a custom class activation: the '
                f'exporter implements softmax and sigmoid scores only')
    if not all(head.reg_class_agnostic for head in heads[:-1]):
        raise UnsupportedModelError(
            'a cascade stage with class-specific boxes: the exporter refines '
            'boxes class-agnostically between stages, as the cascade configs '
            'do')


class TwoStageDetectorGraph(torch.nn.Module):
    """A two-stage mmdet detector as a function from one normalised, padded
    image ``(1, 3, H, W)`` and the size ``(h, w)`` of the image inside the
    padding (mmdet's ``img_shape``; boxes are clipped to it) to

    - ``boxes`` ``(N, 4)``: x1, y1, x2, y2 in input pixels,
    - ``scores`` ``(N, )`` and ``labels`` ``(N, )`` (int64),
    - ``masks`` ``(N, M, M)``: each box's mask probabilities on the mask
      head's grid (``(N, 0, 0)`` for detectors without masks),

    ``N`` at most the test config's ``max_per_img``, highest score first.
    """

    def __init__(self, detector):
        super().__init__()
        check_exportable(detector)
        self.detector = detector

    @property
    def roi_head(self):
        return self.detector.roi_head

    @property
    def test_cfg(self):
        return self.detector.roi_head.test_cfg

    def forward(self, inputs, image_size):
        feats = self.detector.extract_feat(inputs)
        image_size = image_size.to(inputs.dtype)
        if isinstance(self.roi_head, SparseRoIHead):
            boxes, scores, labels = self._sparse(feats, image_size)
        else:
            proposals = self._rpn(feats, image_size)
            boxes, scores, labels = self._rcnn(feats, proposals, image_size)
        if self.roi_head.with_mask:
            masks = self._masks(feats, boxes, labels)
        else:
            masks = boxes.new_zeros(boxes.shape[0], 0, 0)
        return boxes, scores, labels, masks

    def _rpn(self, feats, image_size):
        """mmdet's ``RPNHead.predict_by_feat`` for one image: proposals
        ``(K, 4)``, highest objectness first."""
        head = self.detector.rpn_head
        cfg = self.detector.rpn_head.test_cfg
        cls_scores, bbox_preds = head(feats)
        priors = head.prior_generator.grid_priors(
            [score.shape[-2:] for score in cls_scores],
            dtype=feats[0].dtype, device=feats[0].device)
        all_scores, all_deltas, all_priors, levels = [], [], [], []
        for level, (score, delta, prior) in enumerate(
                zip(cls_scores, bbox_preds, priors)):
            score = score[0].permute(1, 2, 0).reshape(-1)
            score = score.sigmoid() if head.use_sigmoid_cls else \
                score.reshape(-1, 2).softmax(-1)[:, 0]
            delta = delta[0].permute(1, 2, 0).reshape(-1, 4)
            if cfg.nms_pre > 0:  # a symbolic min: levels differ in size
                score, keep = score.topk(
                    torch.sym_min(cfg.nms_pre, score.shape[0]))
                delta, prior = delta[keep], prior[keep]
            all_scores.append(score)
            all_deltas.append(delta)
            all_priors.append(prior)
            levels.append(torch.full_like(score, level, dtype=torch.long))
        boxes = decode(head.bbox_coder, torch.cat(all_priors),
                       torch.cat(all_deltas), image_size)
        scores, levels = torch.cat(all_scores), torch.cat(levels)
        if cfg.get('min_bbox_size', -1) >= 0:
            size = boxes[:, 2:] - boxes[:, :2]
            valid = (size > cfg.min_bbox_size).all(dim=1)
            boxes, scores, levels = boxes[valid], scores[valid], levels[valid]
        keep = batched_nms(boxes, scores, levels, cfg.nms.iou_threshold,
                           cfg.max_per_img)
        return boxes[keep]

    def _rcnn(self, feats, proposals, image_size):
        """``StandardRoIHead.predict_bbox`` (one head) or
        ``CascadeRoIHead.predict_bbox`` (each head refines the previous
        one's boxes; the class logits are averaged over the stages)."""
        heads = stages(self.roi_head.bbox_head)
        extractors = stages(self.roi_head.bbox_roi_extractor)
        boxes, logits = proposals, []
        for stage, (head, extractor) in enumerate(zip(heads, extractors)):
            rois = boxes
            cls_score, bbox_pred = head(pool_rois(extractor, feats, rois))
            logits.append(cls_score)
            if stage < len(heads) - 1:  # a cascade head's class-agnostic box
                boxes = decode(head.bbox_coder, rois, bbox_pred, image_size)
        head = heads[-1]
        scores = (sum(logits) / len(logits)).softmax(-1)[:, :-1]
        num_classes = scores.shape[1]
        if head.reg_class_agnostic:
            boxes = decode(head.bbox_coder, rois, bbox_pred, image_size)
            boxes = boxes[:, None].expand(-1, num_classes, 4)
        else:
            boxes = decode(head.bbox_coder,
                           rois.repeat_interleave(num_classes, dim=0),
                           bbox_pred.reshape(-1, 4), image_size)
        # mmdet's multiclass_nms: every (box, class) above the threshold
        labels = torch.arange(num_classes, device=scores.device).expand_as(
            scores).reshape(-1)
        boxes, scores = boxes.reshape(-1, 4), scores.reshape(-1)
        valid = scores > self.test_cfg.score_thr
        boxes, scores, labels = boxes[valid], scores[valid], labels[valid]
        keep = batched_nms(boxes, scores, labels,
                           self.test_cfg.nms.iou_threshold,
                           self.test_cfg.max_per_img)
        return boxes[keep], scores[keep], labels[keep]

    def _masks(self, feats, boxes, labels):
        """The mask head's probabilities for each box's class; a cascade
        averages its stages' probabilities, as ``CascadeRoIHead``."""
        pairs = zip(stages(self.roi_head.mask_head),
                    stages(self.roi_head.mask_roi_extractor))
        probs = [head(pool_rois(extractor, feats, boxes)).sigmoid()
                 for head, extractor in pairs]
        probs = sum(probs) / len(probs)
        if probs.shape[1] == 1:  # class-agnostic masks
            return probs[:, 0]
        index = labels[:, None, None, None].expand(-1, 1, *probs.shape[2:])
        return probs.gather(1, index)[:, 0]  # the box's class

    def _sparse(self, feats, image_size):
        """``SparseRoIHead.predict``: the learned proposals, refined by each
        stage, and the top ``max_per_img`` (box, class) scores."""
        rpn = self.detector.rpn_head
        whwh = image_size.flip(0).repeat(2)
        boxes = bbox_cxcywh_to_xyxy(rpn.init_proposal_bboxes.weight) * whwh
        object_feats = rpn.init_proposal_features.weight[None]
        for head, extractor in zip(self.roi_head.bbox_head,
                                   self.roi_head.bbox_roi_extractor):
            rois = boxes
            cls_score, bbox_pred, object_feats, _ = head(
                pool_rois(extractor, feats, rois), object_feats)
            boxes = decode(head.bbox_coder, rois, bbox_pred.reshape(-1, 4),
                           image_size)
        head = self.roi_head.bbox_head[-1]
        scores = cls_score[0].sigmoid() if head.loss_cls.use_sigmoid else \
            cls_score[0].softmax(-1)[:, :-1]
        num_classes = scores.shape[1]
        scores, index = scores.flatten().topk(self.test_cfg.max_per_img)
        return boxes[index // num_classes], scores, index % num_classes


def decode(coder, priors, deltas, image_size):
    """``coder.decode`` with the box clipped to ``image_size`` given as a
    tensor ``(h, w)`` (mmdet's own decode takes the size as Python numbers,
    and switches to another formula while an ONNX export runs)."""
    boxes = delta2bbox(priors, deltas, coder.means, coder.stds, None,
                       clip_border=False, add_ctr_clamp=coder.add_ctr_clamp,
                       ctr_clamp=coder.ctr_clamp)
    if coder.clip_border:
        boxes = torch.minimum(boxes.clamp(min=0), image_size.flip(0).repeat(2))
    return boxes


@torch.library.custom_op('mmhirivit::nms', mutates_args=())
def bounded_nms(boxes: torch.Tensor, scores: torch.Tensor,
                iou_threshold: float, max_num: int) -> torch.Tensor:
    """``torchvision.ops.nms`` keeping the best ``max_num``. Exported as ONNX
    ``NonMaxSuppression`` with ``max_output_boxes_per_class=max_num``, so
    the runtime stops once it has them (torchvision's own op is exported
    without a bound, and onnxruntime then keeps comparing every box)."""
    return nms(boxes, scores, iou_threshold)[:max_num]


@bounded_nms.register_fake
def _(boxes, scores, iou_threshold, max_num):
    # At least 2, as torchvision declares for its nms: tracing then takes
    # mmdet's branches for non-empty boxes, which the exported operators
    # compute right for no box too (a test exports a detector keeping none).
    kept = torch.library.get_ctx().new_dynamic_size(min=2, max=max_num)
    return boxes.new_empty(kept, dtype=torch.long)


def bounded_nms_onnx(boxes, scores, iou_threshold: float, max_num: int):
    """:func:`bounded_nms` in ONNX (``custom_translation_table``)."""
    selected = op.NonMaxSuppression(
        op.Unsqueeze(boxes, [0]), op.Unsqueeze(scores, [0, 1]),
        op.Constant(value_int=max_num), op.Constant(value_float=iou_threshold))
    # rows of (batch, class, box): the box indices
    return op.Reshape(op.Slice(selected, [2], [3], [1]), [-1])


#: For ``torch.onnx.export(..., custom_translation_table=...)``.
TRANSLATIONS = {torch.ops.mmhirivit.nms.default: bounded_nms_onnx}


def batched_nms(boxes, scores, groups, iou_threshold, max_num):
    """mmcv's ``batched_nms``: NMS within each group (class or FPN level),
    by shifting each group's boxes apart; the best ``max_num`` kept
    indices, best first."""
    largest = torch.cat([boxes.flatten(), boxes.new_zeros(1)]).max()
    offsets = groups.to(boxes) * (largest + 1)
    return bounded_nms(boxes + offsets[:, None], scores, iou_threshold,
                       max_num)


def pool_rois(extractor, feats, boxes):
    """mmdet's ``SingleRoIExtractor`` on one image's boxes ``(K, 4)``, with
    ``torchvision.ops.roi_align`` (mmcv's RoIAlign computes the same; its
    own op has no standard ONNX form). Every box is pooled from every level
    and the box's level is then selected: a graph cannot skip a level that
    no box maps to, as mmdet's loop does."""
    rois = torch.cat([torch.zeros_like(boxes[:, :1]), boxes], dim=1)
    levels = extractor.map_roi_levels(rois, len(extractor.roi_layers))
    pooled = None
    for level, (feat, layer) in enumerate(zip(feats, extractor.roi_layers)):
        out = roi_align(feat, rois, layer.output_size, layer.spatial_scale,
                        layer.sampling_ratio, layer.aligned)
        pooled = out if pooled is None else torch.where(
            (levels == level)[:, None, None, None], out, pooled)
    return pooled
