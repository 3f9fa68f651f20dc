"""HIRI-ViT drops into stock mmdet, mmseg and mmpretrain configs: as a short
inheriting config (the README's recipe) and with --cfg-options alone. A
stock setting the builder would refuse ends with one line that says what to
write instead; a width or stride that does not match is a warning."""
import argparse
import re

import pytest
from helpers import ONE_EPOCH, error_line, repo_path, run_tool, toy_config
from mmengine.config import DictAction

from mmhirivit.engine.dropin import check_backbone
from mmhirivit.utils.config import read_config

FASTER_RCNN = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
PSPNET = 'mmseg::pspnet/pspnet_r50-d8_4xb4-80k_ade20k-512x512.py'
RESNET50 = 'mmpretrain::resnet/resnet50_8xb32_in1k.py'
SWIN_CLS = 'mmpretrain::swin_transformer/swin-tiny_16xb64_in1k.py'
# What a user writes after the stock config: the backbone afresh, and at the
# stock scale the stock strides (out_indices 0-3: strides 4-32).
SWAP = ['model.backbone._delete_=True',
        'model.backbone.type=mmhirivit.HIRIViT', 'model.backbone.arch=t']
DENSE = SWAP + ['model.backbone.out_indices=[0,1,2,3]']
CLS = SWAP + ['model.backbone.out_indices=[4]', 'model.head.in_channels=256']
FPN = ['model.neck.in_channels=[16,32,64,128]']
# mmseg's dilated-ResNet configs: a decode head on the last output, an FCN
# auxiliary head on the one before, and mmseg's model.pretrained.
SEG_HEADS = ['model.decode_head.in_channels=128',
             'model.auxiliary_head.in_channels=64', 'model.pretrained=None']

STOCK = {
    'fcos': ('mmdet::fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py', 'coco',
             DENSE + FPN),
    'swin-mask-rcnn': ('mmdet::swin/mask-rcnn_swin-t-p4-w7_fpn_1x_coco.py',
                       'coco', DENSE + FPN),
    # DINO picks num_queries encoder tokens: 900 by default, more than a
    # toy image has (only the toy size asks for fewer).
    'dino': ('mmdet::dino/dino-4scale_r50_8xb2-12e_coco.py', 'coco',
             SWAP + ['model.backbone.out_indices=[1,2,3]',
                     'model.neck.in_channels=[32,64,128]',
                     'model.num_queries=30']),
    'yolof': ('mmdet::yolof/yolof_r50-c5_8xb8-1x_coco.py', 'coco',
              SWAP + ['model.backbone.out_indices=[3]',
                      'model.neck.in_channels=128']),
    'pspnet': (PSPNET, 'ade', DENSE + SEG_HEADS),
    'deeplabv3': ('mmseg::deeplabv3/deeplabv3_r50-d8_4xb4-80k_ade20k-'
                  '512x512.py', 'ade', DENSE + SEG_HEADS),
    'deeplabv3plus': (
        'mmseg::deeplabv3plus/deeplabv3plus_r50-d8_4xb4-80k_ade20k-512x512.py',
        'ade', DENSE + SEG_HEADS + ['model.decode_head.c1_in_channels=16']),
    'segformer': ('mmseg::segformer/segformer_mit-b0_8xb2-160k_ade20k-'
                  '512x512.py', 'ade',
                  DENSE + ['model.decode_head.in_channels=[16,32,64,128]']),
    'semantic-fpn': ('mmseg::sem_fpn/fpn_r50_4xb4-160k_ade20k-512x512.py',
                     'ade', DENSE + FPN + ['model.pretrained=None']),
    'resnet50': (RESNET50, 'imagenet', CLS),
    'swin-t': (SWIN_CLS, 'imagenet', CLS),
    # ConvNeXt pools in its backbone, so its recipe has no neck.
    'convnext-t': ('mmpretrain::convnext/convnext-tiny_32xb128_in1k.py',
                   'imagenet', CLS + ['model.neck.type=GlobalAveragePooling']),
    'mobilenet-v2': ('mmpretrain::mobilenet_v2/mobilenet-v2_8xb32_in1k.py',
                     'imagenet', CLS),
}


def readme_example():
    with open(repo_path('README.md')) as f:
        text = f.read()
    [block] = re.findall(r"```python\n(_base_ = 'mmdet::faster_rcnn.*?)```",
                         text, re.S)
    return block


def test_inheriting_config_from_the_readme(toy_root, tmp_path):
    path = tmp_path / 'faster_rcnn_hirivit.py'
    path.write_text(readme_example())
    run_tool('train.py', toy_config(str(path), toy_root / 'coco',
                                    tmp_path / 'run'))
    assert (tmp_path / 'run' / 'epoch_1.pth').is_file()


def _stock(base, data, toy_root, tmp_path, extra=None):
    """``base`` as it ships, on the toy data; the dumped config's path."""
    stock = tmp_path / 'stock.py'
    stock.write_text(f"_base_ = '{base}'\n")
    return toy_config(str(stock), toy_root / data, tmp_path / 'run',
                      extra=extra)


def test_cfg_options_alone(toy_root, tmp_path):
    config = _stock(FASTER_RCNN, 'coco', toy_root, tmp_path)
    run_tool('train.py', config, '--cfg-options', *DENSE, *FPN)
    assert (tmp_path / 'run' / 'epoch_1.pth').is_file()


@pytest.mark.parametrize('name', list(STOCK))
def test_stock_config_trains_and_evaluates(name, toy_root, tmp_path):
    base, data, options = STOCK[name]
    extra = ONE_EPOCH if data == 'imagenet' else None
    config = _stock(base, data, toy_root, tmp_path, extra)
    run_tool('train.py', config, '--cfg-options', *options)
    logs = list((tmp_path / 'run').glob('*/*.log'))
    assert len(logs) == 1 and re.search(r'(Epoch|Iter)\(val\)',
                                        logs[0].read_text())


@pytest.mark.parametrize('base,data,options,words', [
    (FASTER_RCNN, 'coco', SWAP[1:],
     ['model.backbone has settings HIRI-ViT does not take: depth=50',
      'model.backbone._delete_=True']),
    (SWIN_CLS, 'imagenet', ['model.backbone.type=mmhirivit.HIRIViT'],
     ['img_size=224', 'model.backbone._delete_=True']),
    (PSPNET, 'ade', DENSE + SEG_HEADS[:2],
     ["model.pretrained='open-mmlab://resnet50_v1c'",
      'write model.pretrained=None']),
    (RESNET50, 'imagenet', CLS + ['model.backbone.drop_path_rate=1.5'],
     ['model.backbone: drop_path_rate must be a number in [0, 1), got 1.5']),
    (STOCK['convnext-t'][0], 'imagenet', CLS,
     ["model.neck=dict(type='GlobalAveragePooling')",
      'model.neck.type=GlobalAveragePooling']),
])
def test_setting_the_builder_would_refuse_is_one_line(
        base, data, options, words, toy_root, tmp_path, capsys):
    config = _stock(base, data, toy_root, tmp_path)
    line = error_line(capsys, 'train.py', config, '--cfg-options', *options)
    for word in words:
        assert word in line
    assert not list((tmp_path / 'run').glob('*/*.log'))  # nothing started


def _with_options(base, options):
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    cfg = read_config(base)
    cfg.merge_from_dict(parser.parse_args(
        ['--cfg-options', *options]).cfg_options)
    return cfg


@pytest.mark.parametrize('base,options,words', [
    (FASTER_RCNN, DENSE,
     ['model.neck.in_channels=[256, 512, 1024, 2048]',
      'write model.neck.in_channels=[16,32,64,128]']),
    (FASTER_RCNN, SWAP + ['model.neck.in_channels=[32,64,128,256]'],
     ['model.rpn_head.anchor_generator.strides=[4, 8, 16, 32, 64]',
      'strides=[8,16,32,64,128]', 'model.backbone.out_indices=[0,1,2,3]']),
    (PSPNET, DENSE + ['model.pretrained=None'],
     ['model.decode_head.in_channels=2048',
      'write model.decode_head.in_channels=128']),
    (RESNET50, SWAP + ['model.backbone.out_indices=[4]'],
     ['model.head.in_channels=2048', 'write model.head.in_channels=256']),
])
def test_widths_and_strides_that_do_not_match_are_warnings(base, options,
                                                           words):
    """A neck or head the checker does not know may read widths or strides
    differently, so these warn (the tools log each line) and the run goes
    on; dropin_check=False turns the check off."""
    cfg = _with_options(base, options)
    warnings = check_backbone(cfg)
    assert any(all(word in line for word in words) for line in warnings), \
        warnings
    cfg.dropin_check = False
    assert check_backbone(cfg) == []


def test_the_tools_log_the_warning_and_go_on(toy_root, tmp_path, capsys):
    """With the FPN's widths left stock the run starts, logs the warning, and
    fails where PyTorch finds the mismatch."""
    config = _stock(FASTER_RCNN, 'coco', toy_root, tmp_path)
    with pytest.raises(RuntimeError):
        run_tool('train.py', config, '--cfg-options', *DENSE)
    out = capsys.readouterr()
    assert 'write model.neck.in_channels=[16,32,64,128]' in out.out + out.err
    assert 'dropin_check=False' in out.out + out.err
