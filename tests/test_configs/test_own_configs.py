"""The README's recipe for dropping HIRI-ViT into a stock mmdet config works,
as a short inheriting config and with --cfg-options alone."""
import re

from helpers import repo_path, run_tool, toy_config

FASTER_RCNN = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'


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


def test_cfg_options_alone(toy_root, tmp_path):
    stock = tmp_path / 'stock.py'
    stock.write_text(f"_base_ = '{FASTER_RCNN}'\n")
    config = toy_config(str(stock), toy_root / 'coco', tmp_path / 'run')
    run_tool(
        'train.py', config, '--cfg-options', 'model.backbone._delete_=True',
        'model.backbone.type=mmhirivit.HIRIViT', 'model.backbone.arch=t',
        'model.neck.in_channels=[16,32,64,128]',
        'model.backbone.out_indices=[0,1,2,3]')
    assert (tmp_path / 'run' / 'epoch_1.pth').is_file()
