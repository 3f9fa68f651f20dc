"""The ADE20K UPerNet configs train one real iteration through tools/train.py
on toy data and validate with mmseg's IoUMetric; sliding-window inference
covers images larger than the crop."""
import pytest
import torch
from helpers import last_val_metrics, repo_path, run_tool, toy_config
from mmengine.config import Config

from mmhirivit.analysis.builders import build_from_config
from mmhirivit.utils.checkpoint import mmengine_loading

SEG_CONFIGS = [
    'configs/upernet_hirivit_s_160k_ade20k.py',
    'configs/upernet_hirivit_b_160k_ade20k.py'
]


@pytest.mark.parametrize('config', SEG_CONFIGS)
def test_train_one_iteration_and_evaluate(config, toy_root, tmp_path):
    run_tool('train.py', toy_config(config, toy_root / 'ade', tmp_path))
    assert (tmp_path / 'iter_1.pth').is_file()
    metrics = last_val_metrics(tmp_path)
    assert {'mIoU', 'aAcc', 'mAcc'} <= set(metrics)


def test_mmseg_inferencer_runs_our_config(toy_root, tmp_path):
    config = toy_config(SEG_CONFIGS[0], toy_root / 'ade', tmp_path)
    run_tool('train.py', config)
    from mmseg.apis import MMSegInferencer
    with mmengine_loading():
        inferencer = MMSegInferencer(model=config,
                                     weights=str(tmp_path / 'iter_1.pth'),
                                     device='cpu')
    [image] = (toy_root / 'ade').glob('images/validation/*00001.jpg')
    result = inferencer(str(image), return_datasamples=True)
    assert result.pred_sem_seg.data.shape[-2:] == (128, 128)


@pytest.mark.parametrize('config', SEG_CONFIGS)
def test_heads_read_the_backbone_outputs(config):
    cfg = Config.fromfile(repo_path(config))
    cfg.model.backbone.init_cfg = None
    model = build_from_config(cfg)
    channels = model.backbone.out_channels
    assert model.decode_head.in_channels == list(channels)
    assert model.decode_head.in_index == [0, 1, 2, 3]
    aux = model.auxiliary_head
    assert aux.in_channels == channels[aux.in_index]
    assert model.test_cfg.mode == 'slide'
    assert tuple(model.test_cfg.crop_size) == (1024, 1024)


def test_sliding_window_on_an_image_larger_than_the_crop():
    cfg = Config.fromfile(repo_path(SEG_CONFIGS[0]))
    cfg.model.backbone.init_cfg = None
    cfg.model.backbone.arch = 't'
    cfg.model.decode_head.in_channels = [32, 64, 128, 256]
    cfg.model.auxiliary_head.in_channels = 128
    cfg.model.test_cfg.crop_size = (128, 128)
    cfg.model.test_cfg.stride = (85, 85)
    model = build_from_config(cfg).eval()
    from mmseg.structures import SegDataSample
    h, w = 200, 300
    sample = SegDataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w),
                                         pad_shape=(h, w)))
    with torch.no_grad():
        [result] = model.predict(torch.rand(1, 3, h, w), [sample])
    assert result.pred_sem_seg.data.shape == (1, h, w)
    assert result.seg_logits.data.shape == (150, h, w)
