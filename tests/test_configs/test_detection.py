"""Every shipped COCO config trains one real iteration through tools/train.py
on toy data, validates with pycocotools, and has strides that match the
feature maps its backbone and neck really produce."""
import glob
import math
import os.path as osp

import pytest
import torch
from helpers import last_val_metrics, repo_path, run_tool, toy_config
from mmengine.config import Config

from mmhirivit.analysis.builders import build_from_config

DET_CONFIGS = sorted(
    osp.relpath(p, repo_path())
    for p in glob.glob(repo_path('configs', '*_coco.py')))
MASK_DETECTORS = ('maskrcnn', 'cascade_maskrcnn')
# The FSDP config trains across processes (tests/test_tools/test_fsdp.py).
SINGLE_PROCESS = [c for c in DET_CONFIGS if '_fsdp_' not in c]


def test_all_detectors_are_shipped():
    names = {osp.basename(p) for p in DET_CONFIGS}
    for name in ('maskrcnn_hirivit_s_1x_coco.py', 'maskrcnn_hirivit_b_1x_coco.py',
                 'retinanet_hirivit_s_1x_coco.py',
                 'retinanet_hirivit_b_1x_coco.py',
                 'cascade_maskrcnn_hirivit_s_3x_coco.py',
                 'atss_hirivit_s_3x_coco.py', 'gfl_hirivit_s_3x_coco.py',
                 'sparse_rcnn_hirivit_s_3x_coco.py'):
        assert name in names


@pytest.mark.parametrize('config', SINGLE_PROCESS)
def test_train_one_iteration_and_evaluate(config, toy_root, tmp_path):
    cfg_path = toy_config(config, toy_root / 'coco', tmp_path)
    run_tool('train.py', cfg_path)
    assert osp.isfile(tmp_path / 'epoch_1.pth')
    metrics = last_val_metrics(tmp_path)
    assert 'coco/bbox_mAP' in metrics
    if osp.basename(config).startswith(MASK_DETECTORS):
        assert 'coco/segm_mAP' in metrics


@pytest.mark.parametrize('config', DET_CONFIGS)
def test_only_mask_detectors_load_masks(config):
    """Box-only detectors load boxes only, as mmdet's coco_detection bases
    do, and evaluate boxes only."""
    cfg = Config.fromfile(repo_path(config))
    masks = osp.basename(config).startswith(MASK_DETECTORS)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        [load] = [step for step in cfg[loader].dataset.pipeline
                  if step.type == 'LoadAnnotations']
        assert load.with_bbox and load.get('with_mask', False) == masks
    assert ('segm' in cfg.val_evaluator.metric) == masks


def _extractors(roi_head):
    for name in ('bbox_roi_extractor', 'mask_roi_extractor'):
        extractor = getattr(roi_head, name, None)
        if extractor is None:
            continue
        yield from (extractor if isinstance(extractor, torch.nn.ModuleList)
                    else [extractor])


DEMO_CONFIGS = sorted(
    osp.relpath(p, repo_path())
    for p in glob.glob(repo_path('configs', 'maskrcnn_*_demo_toy.py')))


@pytest.mark.parametrize('config', [
    c for c in DET_CONFIGS if '_b_' not in c  # B shares S's heads
] + DEMO_CONFIGS)
def test_strides_match_real_feature_maps(config):
    cfg = Config.fromfile(repo_path(config))
    cfg.model.backbone.init_cfg = None
    model = build_from_config(cfg).eval()
    scale = cfg.test_dataloader.dataset.pipeline[1]['scale']
    divisor = cfg.model.data_preprocessor.pad_size_divisor
    h, w = (-(-s // divisor) * divisor for s in sorted(scale))
    with torch.no_grad():
        feats = model.neck(model.backbone(torch.zeros(1, 3, h, w)))

    def assert_strides_match(strides):
        """Stride s on level i means that map is ceil(H / s) x ceil(W / s)."""
        assert len(strides) <= len(feats)
        for stride, feat in zip(strides, feats):
            assert tuple(feat.shape[-2:]) == (math.ceil(h / stride),
                                              math.ceil(w / stride)), stride

    head = getattr(model, 'rpn_head', None) or model.bbox_head
    if hasattr(head, 'prior_generator'):
        strides = [s[0] for s in head.prior_generator.strides]
        assert len(strides) == len(feats)
        assert_strides_match(strides)
    roi_head = getattr(model, 'roi_head', None)
    if roi_head is not None:
        extractors = list(_extractors(roi_head))
        assert extractors
        for extractor in extractors:
            assert_strides_match(extractor.featmap_strides)
            # mmdet's 56 at stride 4, doubled with the strides.
            assert extractor.finest_scale == 14 * extractor.featmap_strides[0]
