"""What an exported two-stage detector leaves to its caller, in numpy only
(no torch, no mmdet): boxes back to the original image, masks pasted into
it; and how two sets of detections are compared.

The ONNX graph (:mod:`mmhirivit.deploy.detection_graph`) ends at boxes in
the pixels of the network's input and one ``M x M`` grid of mask
probabilities per box. mmdet's ``FCNMaskHead`` then divides the boxes by the
resize factor and samples each grid into the original image (bilinear,
``grid_sample`` with ``align_corners=False``, zero outside the grid), and
keeps pixels at or above ``mask_thr_binary``. :func:`to_original_image` does
the same.
"""
import numpy as np


def paste_masks(probs, boxes, height, width, threshold=0.5):
    """Sample each ``(M, M)`` grid of ``probs`` into its box of an image of
    ``height`` x ``width`` pixels: ``(N, height, width)`` bool.

    Bilinear sampling with zeros outside the grid is separable: one weight
    matrix for the rows and one for the columns of each box.
    """
    masks = np.zeros((len(probs), height, width), dtype=bool)
    size = probs.shape[-1]
    grid = np.arange(size)
    for mask, prob, (x0, y0, x1, y1) in zip(masks, probs, boxes):
        with np.errstate(divide='ignore', invalid='ignore'):
            u = (np.arange(width) + 0.5 - x0) / (x1 - x0) * size - 0.5
            v = (np.arange(height) + 0.5 - y0) / (y1 - y0) * size - 0.5
        cols = np.maximum(0, 1 - np.abs(u[:, None] - grid))
        rows = np.maximum(0, 1 - np.abs(v[:, None] - grid))
        mask[:] = np.nan_to_num(rows @ prob @ cols.T) >= threshold
    return masks


def to_original_image(boxes, probs, scale_factor, ori_shape, threshold=0.5):
    """The graph's boxes and mask grids for an image that the test pipeline
    resized by ``scale_factor`` (``(w_scale, h_scale)``, mmdet's metainfo)
    from ``ori_shape`` (``(h, w)``): the boxes in original pixels, and the
    masks as ``(N, h, w)`` bool (``None`` for a graph without masks)."""
    boxes = boxes / np.tile(np.asarray(scale_factor, dtype=boxes.dtype), 2)
    if probs.shape[-1] == 0:  # a detector without masks
        return boxes, None
    return boxes, paste_masks(probs, boxes, *ori_shape[:2], threshold)


def box_iou(a, b):
    """IoU of every box of ``a`` (N, 4) with every box of ``b`` (K, 4)."""
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=1)
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=1)
    with np.errstate(divide='ignore', invalid='ignore'):
        return np.nan_to_num(inter / (area_a[:, None] + area_b - inter))


def mask_iou(a, b):
    """IoU of two bool masks of the same shape (1 when both are empty)."""
    union = np.logical_or(a, b).sum()
    return np.logical_and(a, b).sum() / union if union else 1.


def as_arrays(instances):
    """mmdet's predicted ``InstanceData`` (CPU tensors) as :func:`match`
    takes detections."""
    return dict(boxes=instances.bboxes.numpy(),
                scores=instances.scores.numpy(),
                labels=instances.labels.numpy(),
                masks=instances.masks.numpy() if 'masks' in instances
                else None)


#: Boxes overlapping less than this are not paired at all.
PAIR_IOU = 0.5
#: Scores this close count as tied.
SCORE_TIE = 1e-5


def match(expected, got):
    """Pair each detection of ``expected`` with the unpaired detection of
    ``got`` of the same label that overlaps it most (at least
    :data:`PAIR_IOU`), highest score first. Each argument is a dict of numpy
    arrays: ``boxes``, ``scores``, ``labels`` and optionally ``masks``.

    Returns a dict: ``expected``/``got`` (counts), ``matched`` (pairs),
    ``min_box_iou``, ``min_mask_iou`` (over the pairs, ``None`` without
    masks), ``max_score_diff``, and ``unpaired_at_cut``: whether every
    unpaired detection ties (:data:`SCORE_TIE`) with the lowest score kept
    on its side, where a runtime's last digits decide which of tied boxes
    make the ``max_per_img`` cut.
    """
    ious = box_iou(expected['boxes'], got['boxes'])
    ious[expected['labels'][:, None] != got['labels'][None, :]] = -1
    free = np.ones(len(got['boxes']), dtype=bool)
    pairs = []
    for i in np.argsort(-expected['scores'], kind='stable'):
        if not free.any():
            break
        j = int(np.argmax(np.where(free, ious[i], -2)))
        if ious[i, j] < PAIR_IOU:
            continue
        free[j] = False
        pairs.append((i, j))
    paired = np.zeros(len(expected['boxes']), dtype=bool)
    paired[[i for i, _ in pairs]] = True
    unpaired_at_cut = all(
        np.all(side['scores'][left] <= side['scores'].min() + SCORE_TIE)
        for side, left in ((expected, ~paired), (got, free)) if left.any())
    box_ious = [ious[i, j] for i, j in pairs]
    score_diffs = [abs(expected['scores'][i] - got['scores'][j])
                   for i, j in pairs]
    mask_ious = None
    if expected.get('masks') is not None:
        mask_ious = [mask_iou(expected['masks'][i], got['masks'][j])
                     for i, j in pairs]
    return dict(
        expected=len(expected['boxes']), got=len(got['boxes']),
        matched=len(pairs), min_box_iou=min(box_ious, default=1.),
        min_mask_iou=min(mask_ious, default=1.) if mask_ious is not None
        else None,
        max_score_diff=max(score_diffs, default=0.),
        unpaired_at_cut=unpaired_at_cut)


#: What :func:`agree` asks of matched detections.
MIN_BOX_IOU = 0.99
MIN_MASK_IOU = 0.98


def agree(figures):
    """Whether :func:`match`'s ``figures`` show the same detections: as
    many on each side, all paired but those tied at the score cut, each
    pair's boxes and masks overlapping at least :data:`MIN_BOX_IOU` and
    :data:`MIN_MASK_IOU`."""
    return (figures['expected'] == figures['got']
            and figures['unpaired_at_cut']
            and figures['min_box_iou'] >= MIN_BOX_IOU
            and (figures['min_mask_iou'] is None
                 or figures['min_mask_iou'] >= MIN_MASK_IOU))


def describe(figures):
    """:func:`match`'s ``figures`` in one line."""
    text = (f'{figures["expected"]} detections in PyTorch, {figures["got"]} '
            f'in onnxruntime, {figures["matched"]} paired by label')
    unpaired = figures['expected'] - figures['matched']
    if unpaired and figures['unpaired_at_cut']:
        text += (f' (the {unpaired} others tie with the lowest score kept, '
                 f'within {SCORE_TIE:.0e})')
    if not figures['matched']:
        return text
    text += f'; box IoU min {figures["min_box_iou"]:.4f}'
    if figures['min_mask_iou'] is not None:
        text += f', mask IoU min {figures["min_mask_iou"]:.4f}'
    return text + f', score diff max {figures["max_score_diff"]:.1e}'


def open_session(path):
    """An onnxruntime CPU session of the ONNX file ``path``; ``ValueError``
    naming the file when onnxruntime cannot read it."""
    import onnxruntime
    try:
        return onnxruntime.InferenceSession(
            path, providers=['CPUExecutionProvider'])
    except Exception as err:  # onnxruntime raises its own types
        text = str(err).strip().splitlines()
        raise ValueError(f'{path} is not an ONNX model onnxruntime can run '
                         f'({text[0] if text else type(err).__name__})'
                         ) from None
