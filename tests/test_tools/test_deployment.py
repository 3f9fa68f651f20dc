"""tools/deployment/pytorch2onnx.py: the backbone, a one-stage detector and
UPerNet export, run in onnxruntime and match PyTorch; what cannot be
exported says so in one line."""
import onnx
import pytest
import torch
from helpers import error_line, repo_path, run_tool, toy_config
from mmengine.config import Config

from mmhirivit.analysis.builders import build_from_scratch
from mmhirivit.models import HIRIViT

TOOL = 'deployment/pytorch2onnx.py'


def _input_dims(path):
    graph_input = onnx.load(str(path)).graph.input[0]  # the image
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


# An HRViT of one block per branch and unit: every kind of part at the
# smallest width, to keep its export quick.
TINY_HRVIT = dict(embed_dims=[16, 32, 48, 64],
                  depths=[[1], [1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1, 1],
                          [1, 1, 1, 1]], head_dim=8, mlp_ratios=[2, 2, 2, 2])


def test_hrvit_segformer_exports_with_dynamic_size_and_matches(
        toy_root, tmp_path, capsys):
    """HRViT (stripe attention with masked padding, dense fusion) inside
    mmseg's SegFormer head: dynamic height and width, checked at two
    shapes that need padding."""
    path = toy_config('configs/hrvit/segformer_hrvit_b1_160k_ade20k.py',
                      toy_root / 'ade', tmp_path)
    cfg = Config.fromfile(path)
    cfg.model.backbone.arch = TINY_HRVIT
    cfg.model.decode_head.in_channels = TINY_HRVIT['embed_dims']
    cfg.dump(path)
    out = tmp_path / 'hrvit.onnx'
    run_tool(TOOL, path, out, '--shape', 72, 104, '--verify', '--runs', 1)
    printed = capsys.readouterr().out
    assert 'dynamic height/width' in printed and printed.count('ok ') == 2
    assert isinstance(_input_dims(out)[2], str)


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


def _nodes(path):
    graph = onnx.load(str(path)).graph
    return {(node.domain or 'ai.onnx', node.op_type) for node in graph.node}


@pytest.mark.parametrize('config, kept', [
    ('configs/maskrcnn_hirivit_s_1x_coco.py', 100),
    ('configs/cascade_maskrcnn_hirivit_s_3x_coco.py', 100),
    # no box above the threshold: the graph's NMS and heads run on nothing
    ('configs/maskrcnn_hirivit_s_1x_coco.py', 0),
])
def test_two_stage_detector_exports_whole_and_matches(config, kept, toy_root,
                                                      tmp_path, capsys):
    """From the image to boxes, scores, labels and masks, in standard ONNX
    ops; onnxruntime's detections pair up with mmdet's at two shapes."""
    out = tmp_path / 'detector.onnx'
    threshold = 'model.test_cfg.rcnn.score_thr=' + ('0' if kept else '1')
    run_tool(TOOL, _toy_t(config, toy_root / 'coco', tmp_path), out,
             '--shape', 128, 160, '--verify', '--runs', 1, '--cfg-options',
             threshold)
    printed = capsys.readouterr().out
    assert printed.count('ok ') == 2, printed
    assert (f'{kept} detections in PyTorch, {kept} in onnxruntime, {kept} '
            f'paired') in printed
    nodes = _nodes(out)
    assert {('ai.onnx', 'NonMaxSuppression'), ('ai.onnx', 'RoiAlign')} <= nodes
    assert {domain for domain, _ in nodes} == {'ai.onnx'}
    assert isinstance(_input_dims(out)[2], str)


def test_sparse_rcnn_exports_whole_and_matches(toy_root, tmp_path, capsys):
    """Sparse R-CNN's six stages. Random box regressors would move the
    boxes to tens of thousands of pixels, where fp32 differences between
    the runtimes grow stage by stage; with the regressors zeroed, the boxes
    are the learned proposals, set to spread over the image."""
    config = _toy_t('configs/sparse_rcnn_hirivit_s_3x_coco.py',
                    toy_root / 'coco', tmp_path)
    torch.manual_seed(0)
    state = build_from_scratch(Config.fromfile(config)).state_dict()
    for name, value in state.items():
        if '.fc_reg.' in name:
            value.zero_()
    proposals = state['rpn_head.init_proposal_bboxes.weight']
    proposals.copy_(torch.rand(proposals.shape) * 0.4 + 0.3)  # cx, cy, w, h
    checkpoint = tmp_path / 'weights.pth'
    torch.save({'state_dict': state}, checkpoint)
    run_tool(TOOL, config, tmp_path / 'sparse.onnx', '--shape', 128, 160,
             '--checkpoint', checkpoint, '--verify', '--runs', 1)
    printed = capsys.readouterr().out
    assert printed.count('ok ') == 2, printed
    assert '100 detections in PyTorch, 100 in onnxruntime, 100 paired' \
        in printed


def test_exported_detector_evaluates_as_pytorch(toy_root, tmp_path, capsys):
    """test_onnx.py runs the file through the config's test loop and COCO
    metric, beside the PyTorch model with the same weights."""
    config = _toy_t('configs/maskrcnn_hirivit_s_1x_coco.py',
                    toy_root / 'coco', tmp_path)
    cfg = Config.fromfile(config)
    torch.manual_seed(0)
    checkpoint = tmp_path / 'weights.pth'
    torch.save({'state_dict': build_from_scratch(cfg).state_dict()},
               checkpoint)
    out = tmp_path / 'detector.onnx'
    run_tool(TOOL, config, out, '--shape', 128, 128, '--checkpoint',
             checkpoint)
    run_tool('deployment/test_onnx.py', config, out, '--checkpoint',
             checkpoint, '--work-dir', tmp_path / 'work')
    printed = capsys.readouterr().out
    assert '2 of 2 images with the same detections' in printed
    assert 'coco/bbox_mAP: PyTorch' in printed
    assert 'coco/segm_mAP: PyTorch' in printed


@pytest.mark.parametrize('args, words', [
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
