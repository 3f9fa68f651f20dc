"""tools/deployment/pytorch2onnx.py: the backbone, a one-stage detector and
UPerNet export, run in onnxruntime and match PyTorch; what cannot be
exported says so in one line."""
import onnx
import pytest
import torch
from helpers import error_line, repo_path, run_tool, toy_config
from mmengine.config import Config

from mmhirivit.models import HIRIViT

TOOL = 'deployment/pytorch2onnx.py'


def _input_dims(path):
    [graph_input] = onnx.load(str(path)).graph.input
    return [d.dim_param or d.dim_value
            for d in graph_input.type.tensor_type.shape.dim]


def test_backbone_exports_with_dynamic_size_and_matches(tmp_path, capsys):
    out = tmp_path / 't.onnx'
    run_tool(TOOL, 't', out, '--shape', 96, 128, '--verify', '--runs', 1)
    printed = capsys.readouterr().out
    assert 'dynamic height/width' in printed
    # --verify checked the export shape and a second one
    assert printed.count('\nok ') + printed.startswith('ok ') == 2
    assert isinstance(_input_dims(out)[2], str)


def test_backbone_checkpoint_is_exported(tmp_path, capsys):
    checkpoint = tmp_path / 'backbone.pth'
    torch.save({'state_dict': HIRIViT(arch='t').state_dict()}, checkpoint)
    run_tool(TOOL, 't', tmp_path / 't.onnx', '--shape', 64, 64, '--static',
             '--checkpoint', checkpoint, '--verify', '--runs', 1)
    printed = capsys.readouterr().out
    assert 'static' in printed and printed.count('ok ') == 1


def _toy_t(config, toy_root, tmp_path):
    path = toy_config(config, toy_root, tmp_path)
    cfg = Config.fromfile(path)
    cfg.model.backbone.arch = 't'
    widths = [32, 64, 128, 256]
    if 'neck' in cfg.model:
        cfg.model.neck.in_channels = widths
    else:
        cfg.model.decode_head.in_channels = widths
        cfg.model.auxiliary_head.in_channels = widths[2]
    cfg.dump(path)
    return path


def test_one_stage_detector_exports_and_matches(toy_root, tmp_path, capsys):
    config = _toy_t('configs/retinanet_hirivit_s_1x_coco.py',
                    toy_root / 'coco', tmp_path)
    run_tool(TOOL, config, tmp_path / 'retinanet.onnx', '--shape', 128, 192,
             '--verify', '--runs', 1)
    assert capsys.readouterr().out.count('ok ') == 2


def test_upernet_exports_for_its_shape_only(toy_root, tmp_path, capsys):
    config = _toy_t('configs/upernet_hirivit_s_160k_ade20k.py',
                    toy_root / 'ade', tmp_path)
    out = tmp_path / 'upernet.onnx'
    run_tool(TOOL, config, out, '--shape', 128, 128, '--verify', '--runs', 1)
    printed = capsys.readouterr().out
    assert 'AdaptiveAvgPool2d' in printed and '(static' in printed
    assert printed.count('ok ') == 1
    assert _input_dims(out) == [1, 3, 128, 128]


def test_classifier_of_the_pretraining_recipe_exports(tmp_path, capsys):
    """The recipe's model is mmhirivit's EMADistillClassifier, a subclass of
    mmpretrain's classifier: exported to its class scores."""
    out = tmp_path / 'cls.onnx'
    run_tool(TOOL, repo_path('configs/hirivit_t_in1k_demo_toy.py'), out,
             '--shape', 64, 64, '--verify', '--runs', 1)
    printed = capsys.readouterr().out
    assert 'dynamic height/width' in printed and printed.count('ok ') == 2
    [output] = onnx.load(str(out)).graph.output
    assert output.type.tensor_type.shape.dim[1].dim_value == 1000


@pytest.mark.parametrize('args, words', [
    (['configs/maskrcnn_hirivit_s_1x_coco.py'], 'proposals'),
    (['x'], 'neither an arch'),
    (['t', '--checkpoint', 'missing.pth'], 'missing.pth: no such file'),
])
def test_refusals_are_one_line(args, words, capsys, tmp_path):
    model, *rest = args
    if model.startswith('configs/'):
        model = repo_path(model)
    message = error_line(capsys, TOOL, model, tmp_path / 'm.onnx',
                         '--shape', 64, 64, *rest)
    assert words in message


def test_too_small_shape_is_refused(capsys, tmp_path):
    message = error_line(capsys, TOOL, 't', tmp_path / 't.onnx', '--shape',
                         48, 64)
    assert '--shape 48 64' in message and 'at least 64' in message


def test_existing_file_is_not_replaced(capsys, tmp_path):
    out = tmp_path / 'mine.onnx'
    out.write_bytes(b'keep me')
    message = error_line(capsys, TOOL, 't', out, '--shape', 64, 64)
    assert 'exists' in message and out.read_bytes() == b'keep me'


def test_checkpoint_of_another_arch_is_refused(capsys, tmp_path):
    checkpoint = tmp_path / 's.pth'
    torch.save(HIRIViT(arch='s').state_dict(), checkpoint)
    message = error_line(capsys, TOOL, 't', tmp_path / 't.onnx', '--shape',
                         64, 64, '--checkpoint', checkpoint)
    assert 'does not fit' in message
