"""tools/test.py's --tta, --out and --show-dir on the toy data, for a COCO
detector with masks, a box-only detector, the ADE20K segmenter and an
ImageNet classifier."""
import glob
import os.path as osp
import pickle

import pytest
import torch
from helpers import error_line, last_val_metrics, run_tool, toy_config
from mmengine.config import Config

from mmhirivit.analysis.builders import build_from_scratch

CASES = {
    'maskrcnn': ('configs/maskrcnn_hirivit_t_demo_toy.py', 'coco'),
    'retinanet': ('configs/retinanet_hirivit_s_1x_coco.py', 'coco'),
    'upernet': ('configs/upernet_hirivit_s_160k_ade20k.py', 'ade'),
    'classifier': ('configs/hirivit_t_in1k_demo_toy.py', 'imagenet'),
}


def _toy_run(case, toy_root, tmp_path):
    """The toy config of ``case`` and a checkpoint of its initial weights."""
    config, data = CASES[case]
    path = toy_config(config, toy_root / data, tmp_path / 'work')
    cfg = Config.fromfile(path)
    _use_arch_t(cfg)
    if cfg.model.get('test_cfg', {}).get('mode') == 'slide':
        # One window per view, the largest TTA view included (3.5x the toy
        # size): sliding windows have their own test (test_segmentation.py).
        cfg.model.test_cfg.crop_size = (512, 512)
    cfg.dump(path)
    checkpoint = str(tmp_path / 'init.pth')
    torch.save({'state_dict': build_from_scratch(cfg).state_dict()},
               checkpoint)
    return path, checkpoint


def _use_arch_t(cfg):
    """HIRI-ViT-T and its widths downstream, to keep the runs quick."""
    cfg.model.backbone.arch = 't'
    widths = [32, 64, 128, 256]
    if 'neck' in cfg.model and cfg.model.neck.get('in_channels'):
        cfg.model.neck.in_channels = widths
    if 'decode_head' in cfg.model:
        cfg.model.decode_head.in_channels = widths
        cfg.model.auxiliary_head.in_channels = widths[2]


@pytest.mark.parametrize('case', sorted(CASES))
def test_out_and_show_dir(case, toy_root, tmp_path):
    config, checkpoint = _toy_run(case, toy_root, tmp_path)
    out, show = tmp_path / 'results.pkl', tmp_path / 'vis'
    run_tool('test.py', config, checkpoint, '--out', out, '--show-dir', show)
    with open(out, 'rb') as f:
        results = pickle.load(f)
    assert len(results) == (3 if case == 'classifier' else 2)
    if case == 'maskrcnn':
        assert {'bboxes', 'scores', 'labels', 'masks'} <= set(
            results[0]['pred_instances'])
    drawn = glob.glob(str(show / '**' / '*.*g'), recursive=True)
    assert drawn, f'no images drawn under {show}'


@pytest.mark.parametrize('case', ['maskrcnn', 'retinanet', 'upernet'])
def test_tta_evaluates_through_the_configs_tta_model(case, toy_root,
                                                     tmp_path):
    config, checkpoint = _toy_run(case, toy_root, tmp_path)
    run_tool('test.py', config, checkpoint, '--tta')
    metrics = last_val_metrics(tmp_path / 'work')
    expected = {'maskrcnn': {'coco/bbox_mAP', 'coco/segm_mAP'},
                'retinanet': {'coco/bbox_mAP'},
                'upernet': {'mIoU'}}[case]
    assert expected <= set(metrics)


def test_out_never_replaces_a_file(capsys, toy_root, tmp_path):
    config, checkpoint = _toy_run('retinanet', toy_root, tmp_path)
    out = tmp_path / 'mine.pkl'
    out.write_bytes(b'keep me')
    message = error_line(capsys, 'test.py', config, checkpoint, '--out', out)
    assert 'exists' in message and str(out) in message
    assert out.read_bytes() == b'keep me'
    message = error_line(capsys, 'test.py', config, checkpoint, '--out',
                         tmp_path / 'results.json')
    assert '.pkl' in message


def test_tta_needs_the_configs_settings(capsys, toy_root, tmp_path):
    config, checkpoint = _toy_run('classifier', toy_root, tmp_path)
    message = error_line(capsys, 'test.py', config, checkpoint, '--tta')
    assert 'tta_model' in message
    assert osp.isfile(config)
