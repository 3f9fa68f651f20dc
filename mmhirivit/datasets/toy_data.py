"""Deterministic toy datasets in the real on-disk formats the configs read.

No real dataset is reachable on the project's machines, so demos and tests run
on coloured shapes drawn on textured backgrounds. One scene renderer feeds
three writers:

- COCO instance segmentation (mmdet's ``data/coco`` layout): polygon masks of
  the visible part of each shape, some overlapping, some small.
- ADE20K (mmseg's ``data/ade/ADEChallengeData2016`` layout): PNG label maps
  with ADE's convention, 0 = ignore ("other"), classes from 1.
- ImageNet (mmpretrain's ``data/imagenet`` layout with ``meta/*.txt``): one
  labelled shape per image.

The shape classes carry real category names and ids of each dataset, so the
real configs, whose class lists are fixed, read the toy data unchanged.
Output is byte-identical for the same arguments.
"""
import json
import os
import os.path as osp

import cv2
import numpy as np

from .coco_format import mask_box, mask_to_polygons, write_image

SHAPES = ('circle', 'triangle', 'square')
#: The ids of COCO's 80 categories, in the order of mmdet's class names.
COCO_IDS = (*range(1, 12), *range(13, 26), 27, 28, *range(31, 45),
            *range(46, 66), 67, 70, *range(72, 83), *range(84, 91))
#: COCO (name, id) of each shape.
COCO_CATEGORIES = (('sports ball', 37), ('kite', 38), ('book', 84))
#: ADE20K label values: 1 ('wall') is the background, then one per shape;
#: 0 (ignore) marks a thin band around every shape.
ADE_BACKGROUND = 1
ADE_LABELS = (3, 4, 5)


def _texture(rng, size):
    """A smooth random colour field plus fine noise: a textured background."""
    low = rng.randint(0, 256, (6, 6, 3)).astype(np.float32)
    field = cv2.resize(low, (size, size), interpolation=cv2.INTER_CUBIC)
    field += rng.normal(0, 12, (size, size, 3))
    return np.clip(field, 0, 255).astype(np.uint8)


def _shape_mask(rng, kind, size, small):
    """A filled mask of one shape at a random place, scale and rotation."""
    mask = np.zeros((size, size), np.uint8)
    radius = rng.uniform(0.03, 0.06) if small else rng.uniform(0.1, 0.28)
    r = max(4, int(radius * size))
    cx, cy = (int(v) for v in rng.randint(r, size - r, 2))
    angle = rng.uniform(0, 2 * np.pi)
    if kind == 'circle':
        cv2.circle(mask, (cx, cy), r, 1, -1)
    else:
        n = 3 if kind == 'triangle' else 4
        angles = angle + np.arange(n) * 2 * np.pi / n
        pts = np.stack([cx + r * np.cos(angles), cy + r * np.sin(angles)], 1)
        cv2.fillPoly(mask, [pts.round().astype(np.int32)], 1)
    return mask.astype(bool)


def render_scene(rng, size, max_shapes=5, min_visible=12):
    """Render one image with 1..max_shapes shapes, later ones on top.

    Returns:
        tuple: ``(image, instances)``, an (H, W, 3) uint8 BGR image and a
        list of ``(class_index, visible_mask)``; shapes hidden below
        ``min_visible`` pixels are dropped from the list.
    """
    image = _texture(rng, size)
    layers = []
    for _ in range(rng.randint(1, max_shapes + 1)):
        cls = int(rng.randint(len(SHAPES)))
        mask = _shape_mask(rng, SHAPES[cls], size, small=rng.rand() < 0.3)
        colour = rng.randint(0, 256, 3)
        image[mask] = (0.8 * colour + 0.2 * image[mask]).astype(np.uint8)
        for _, under in layers:
            under &= ~mask
        layers.append((cls, mask))
    return image, [(c, m) for c, m in layers if m.sum() >= min_visible]


def write_coco(root, num_train=40, num_val=10, size=256, seed=0):
    """Write ``annotations/instances_{train,val}2017.json`` and the images
    in ``train2017/``, ``val2017/`` under ``root``."""
    from mmdet.datasets import CocoDataset

    # All 80 categories, as in the real files: a model with COCO's 80 classes
    # then evaluates on the toy set unchanged.
    shapes = {cid: shape for shape, (_, cid) in zip(SHAPES, COCO_CATEGORIES)}
    categories = [
        dict(id=cid, name=name, supercategory=shapes.get(cid, 'unused'))
        for name, cid in zip(CocoDataset.METAINFO['classes'], COCO_IDS)
    ]
    for split, count, offset in (('train', num_train, 0), ('val', num_val, 1)):
        rng = np.random.RandomState([seed, offset])
        images, annotations = [], []
        for i in range(count):
            image, instances = render_scene(rng, size)
            name = f'{i:012d}.jpg'
            write_image(osp.join(root, f'{split}2017', name), image)
            images.append(dict(id=i + 1, file_name=name, height=size,
                               width=size))
            for cls, mask in instances:
                polygons = mask_to_polygons(mask)
                if not polygons:
                    continue
                annotations.append(
                    dict(id=len(annotations) + 1, image_id=i + 1,
                         category_id=COCO_CATEGORIES[cls][1],
                         segmentation=polygons, area=float(mask.sum()),
                         bbox=mask_box(mask), iscrowd=0))
        path = osp.join(root, 'annotations', f'instances_{split}2017.json')
        os.makedirs(osp.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            json.dump(dict(images=images, annotations=annotations,
                           categories=categories), f)


def write_ade(root, num_train=40, num_val=10, size=256, seed=0):
    """Write ``images/{training,validation}/*.jpg`` and the label maps in
    ``annotations/{training,validation}/*.png`` under ``root``."""
    for split, count, offset in (('training', num_train, 2),
                                 ('validation', num_val, 3)):
        rng = np.random.RandomState([seed, offset])
        for i in range(count):
            image, instances = render_scene(rng, size)
            label = np.full((size, size), ADE_BACKGROUND, np.uint8)
            kernel = np.ones((3, 3), np.uint8)
            for cls, mask in instances:
                band = cv2.dilate(mask.astype(np.uint8), kernel) > 0
                label[band] = 0
                label[mask] = ADE_LABELS[cls]
            name = f'ADE_{split}_{i + 1:08d}'
            write_image(osp.join(root, 'images', split, name + '.jpg'), image)
            write_image(osp.join(root, 'annotations', split, name + '.png'),
                        label)


def write_imagenet(root, num_train=30, num_val=9, size=128, seed=0):
    """Write ``train/<class>/*.JPEG``, ``val/*.JPEG`` and ``meta/train.txt``,
    ``meta/val.txt`` under ``root``: one shape per image, labelled by its
    class index (0..2)."""
    os.makedirs(osp.join(root, 'meta'), exist_ok=True)
    for split, count, offset in (('train', num_train, 4), ('val', num_val, 5)):
        rng = np.random.RandomState([seed, offset])
        lines = []
        for i in range(count):
            cls = i % len(SHAPES)
            image = _texture(rng, size)
            mask = _shape_mask(rng, SHAPES[cls], size, small=False)
            image[mask] = rng.randint(0, 256, 3)
            name = f'{split}_{i:08d}.JPEG'
            rel = osp.join(f'n{cls:08d}', name) if split == 'train' else name
            write_image(osp.join(root, split, rel), image)
            lines.append(f'{rel} {cls}\n')
        with open(osp.join(root, 'meta', f'{split}.txt'), 'w') as f:
            f.writelines(lines)
