import filecmp
import os.path as osp

import numpy as np
from mmengine.registry import init_default_scope
from pycocotools.coco import COCO

from mmhirivit.datasets import toy_data


def _same_tree(a, b):
    cmp = filecmp.dircmp(a, b)
    assert not (cmp.left_only or cmp.right_only or cmp.diff_files)
    for sub in cmp.common_dirs:
        _same_tree(osp.join(a, sub), osp.join(b, sub))
    _, mismatch, errors = filecmp.cmpfiles(a, b, cmp.common_files,
                                           shallow=False)
    assert not mismatch and not errors


def test_same_seed_same_bytes_other_seed_other_images(tmp_path):
    for name, seed in (('a', 3), ('b', 3), ('c', 4)):
        toy_data.write_coco(str(tmp_path / name / 'coco'), 3, 2, 96, seed)
        toy_data.write_ade(str(tmp_path / name / 'ade'), 3, 2, 96, seed)
        toy_data.write_imagenet(str(tmp_path / name / 'imagenet'), 3, 2, 96,
                                seed)
    _same_tree(tmp_path / 'a', tmp_path / 'b')
    assert not filecmp.cmp(tmp_path / 'a/coco/train2017/000000000000.jpg',
                           tmp_path / 'c/coco/train2017/000000000000.jpg',
                           shallow=False)


def test_coco_loads_in_pycocotools_and_mmdet(toy_root):
    root = toy_root / 'coco'
    coco = COCO(str(root / 'annotations/instances_train2017.json'))
    assert len(coco.getCatIds()) == 80
    anns = coco.loadAnns(coco.getAnnIds())
    assert anns and {a['category_id'] for a in anns} <= {37, 38, 84}
    for ann in anns:
        mask = coco.annToMask(ann)
        assert mask.sum() > 0
        x, y, w, h = ann['bbox']
        assert mask[:, :x].sum() == 0 and mask[:y].sum() == 0

    init_default_scope('mmdet')
    from mmdet.datasets import CocoDataset
    dataset = CocoDataset(
        data_root=str(root), ann_file='annotations/instances_train2017.json',
        data_prefix=dict(img='train2017/'),
        pipeline=[dict(type='LoadImageFromFile'),
                  dict(type='LoadAnnotations', with_bbox=True,
                       with_mask=True)])
    assert len(dataset) == 4
    sample = dataset[0]
    assert sample['img'].shape == (128, 128, 3)
    assert len(sample['gt_masks']) == len(sample['gt_bboxes']) > 0


def test_ade_loads_in_mmseg(toy_root):
    init_default_scope('mmseg')
    from mmseg.datasets import ADE20KDataset
    dataset = ADE20KDataset(
        data_root=str(toy_root / 'ade'),
        data_prefix=dict(img_path='images/validation',
                         seg_map_path='annotations/validation'),
        pipeline=[dict(type='LoadImageFromFile'),
                  dict(type='LoadAnnotations', reduce_zero_label=True)])
    assert len(dataset) == 2
    labels = np.unique(dataset[0]['gt_seg_map'])
    # 0 (ignore) became 255; 'wall' (1) became class 0.
    assert 0 in labels and set(labels) <= {0, 2, 3, 4, 255}


def test_imagenet_loads_in_mmpretrain(toy_root):
    init_default_scope('mmpretrain')
    from mmpretrain.datasets import ImageNet
    dataset = ImageNet(data_root=str(toy_root / 'imagenet'), split='train',
                       pipeline=[dict(type='LoadImageFromFile')])
    assert len(dataset) == 6
    assert sorted({dataset.get_gt_labels()[i] for i in range(6)}) == [0, 1, 2]
    assert dataset[0]['img'].shape == (128, 128, 3)
