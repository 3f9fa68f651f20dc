"""Pieces of COCO's annotation format shared by the datasets written here:
polygons and run-length encodings of masks, boxes, images on disk."""
import os
import os.path as osp

import cv2
import numpy as np


def mask_to_polygons(mask):
    """COCO polygons (flat xy lists, >= 3 points) of a binary mask."""
    contours, _ = cv2.findContours(
        mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    return [
        c.reshape(-1).astype(float).tolist() for c in contours if len(c) >= 3
    ]


def mask_to_rle(mask):
    """COCO's uncompressed run-length encoding of a binary mask, as its
    ``iscrowd`` regions are stored: run lengths down the columns, starting
    with a run of zeros."""
    flat = np.asarray(mask, dtype=bool).flatten(order='F')
    changes = np.flatnonzero(np.diff(flat)) + 1
    runs = np.diff(np.concatenate([[0], changes, [flat.size]]))
    counts = ([0] if flat[0] else []) + runs.tolist()
    return dict(counts=counts, size=list(mask.shape))


def mask_box(mask):
    """The COCO box ``[x, y, w, h]`` around a binary mask."""
    x, y, w, h = cv2.boundingRect(np.asarray(mask, dtype=np.uint8))
    return [x, y, w, h]


def write_image(path, image):
    """Write an (H, W, 3) BGR image, creating its folder."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    if not cv2.imwrite(path, image):
        raise OSError(f'could not write {path}')
