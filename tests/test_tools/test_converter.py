"""tools/model_converters/hirivit_to_backbone.py: every checkpoint layout it
takes, what it writes, and every way it refuses."""
import json
import os

import pytest
import torch
import torchvision
from helpers import error_line, run_tool

from mmhirivit.analysis.builders import build_classifier
from mmhirivit.models import HIRIViT, HRViT

TOOL = 'model_converters/hirivit_to_backbone.py'


@pytest.fixture(scope='module')
def weights():
    """Raw and "EMA" state dicts of a HIRI-ViT-T classifier."""
    torch.manual_seed(0)
    raw = build_classifier('t').state_dict()
    ema = {k: v + 1 if v.is_floating_point() else v for k, v in raw.items()}
    return raw, ema


def _save(obj, path):
    torch.save(obj, path)
    return path


def _converted(path):
    out = torch.load(path, map_location='cpu')
    return out['meta'], out['state_dict']


def _expect_backbone(state_dict, source):
    """``state_dict`` is ``source``'s backbone under ``backbone.``."""
    want = {k: v for k, v in source.items() if k.startswith('backbone.')}
    assert set(state_dict) == set(want)
    assert all(torch.equal(state_dict[k], want[k]) for k in want)


def test_mmengine_checkpoint_with_ema(weights, tmp_path, capsys):
    raw, ema = weights
    # What EMAHook saves: EMA in state_dict, the raw weights under module.
    src = _save(dict(state_dict=ema, meta=dict(epoch=300),
                     ema_state_dict={'steps': torch.tensor(7),
                                     **{f'module.{k}': v
                                        for k, v in raw.items()}}),
                tmp_path / 'epoch_300.pth')

    run_tool(TOOL, src, tmp_path / 'ema.pth')
    meta, state_dict = _converted(tmp_path / 'ema.pth')
    _expect_backbone(state_dict, ema)
    assert meta['arch'] == 't' and meta['weights'] == 'ema'
    assert meta['source'] == str(src) and meta['source_entry'] == 'state_dict'
    assert len(meta['source_sha256']) == 64
    printed = capsys.readouterr().out
    assert 'head.fc.weight' in printed and 'ema weights' in printed

    run_tool(TOOL, src, tmp_path / 'raw.pth', '--weights', 'raw')
    meta, state_dict = _converted(tmp_path / 'raw.pth')
    _expect_backbone(state_dict, raw)
    assert meta['weights'] == 'raw'


@pytest.mark.parametrize('layout, weights_flag, expected', [
    ('timm', None, 'ema'),
    ('timm', 'raw', 'raw'),
    ('bare', None, 'as stored'),
    ('mmengine_no_ema', None, 'raw'),
])
def test_other_layouts_and_prefixes(weights, tmp_path, layout, weights_flag,
                                    expected):
    raw, ema = weights
    ddp = {f'module.{k}': v for k, v in raw.items()}
    backbone_only = {k[len('backbone.'):]: v for k, v in ema.items()
                     if k.startswith('backbone.')}
    src = _save({
        'timm': dict(model=ddp, model_ema=ema, epoch=299),
        'bare': backbone_only,
        'mmengine_no_ema': dict(state_dict=raw),
    }[layout], tmp_path / 'src.pth')
    args = ['--weights', weights_flag] if weights_flag else []
    run_tool(TOOL, src, tmp_path / 'dst.pth', *args)
    meta, state_dict = _converted(tmp_path / 'dst.pth')
    assert meta['weights'] == expected
    _expect_backbone(state_dict, raw if expected == 'raw' else ema)


def test_custom_arch_by_json(tmp_path):
    arch = dict(embed_dims=[16, 32, 64, 96, 128], depths=[2, 2, 1, 1, 1],
                mlp_ratios=[2, 2, 2, 2, 2])
    src = _save(HIRIViT(arch, out_indices=4).state_dict(), tmp_path / 's.pth')
    run_tool(TOOL, src, tmp_path / 'd.pth', '--arch', json.dumps(arch))
    meta, _ = _converted(tmp_path / 'd.pth')
    assert meta['arch'] == arch


def test_hrvit_classifier_to_dense_backbone(tmp_path, capsys):
    """An HRViT ImageNet classifier (HRNetV2 head) becomes the backbone
    weights configs/hrvit's dense configs load; the arch is found from the
    shapes."""
    torch.manual_seed(0)
    backbone = HRViT(arch='b1')
    src, dst = tmp_path / 'in1k.pth', tmp_path / 'backbone.pth'
    torch.save({'state_dict': {
        **{f'backbone.{k}': v for k, v in backbone.state_dict().items()},
        'head.fc.weight': torch.zeros(1000, 2048)}}, src)
    run_tool(TOOL, src, dst)
    assert 'HRViT-b1 backbone' in capsys.readouterr().out
    loaded = HRViT(arch='b1', init_cfg=dict(type='Pretrained',
                                            checkpoint=str(dst),
                                            prefix='backbone.'))
    loaded.init_weights()
    for name, tensor in backbone.state_dict().items():
        assert torch.equal(tensor, loaded.state_dict()[name]), name


def test_four_stage_form(tmp_path, capsys):
    """Weights of the four-stage form (a 224 model) are detected as such
    and the tool says how to use them."""
    src = _save(dict(state_dict=build_classifier('t', num_stages=4)
                     .state_dict()), tmp_path / 'in1k_224.pth')
    run_tool(TOOL, src, tmp_path / 'd.pth')
    meta, state_dict = _converted(tmp_path / 'd.pth')
    assert meta['arch'] == 't' and meta['num_stages'] == 4
    assert not any(k.startswith('backbone.stages.0.') for k in state_dict)
    assert 'backbone=dict(num_stages=4)' in capsys.readouterr().out


def _truncated(weights, path):
    full = _save(dict(state_dict=weights[0]), path.with_suffix('.full'))
    data = full.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    return path


@pytest.mark.parametrize('case, words', [
    ('missing', 'no such file'),
    ('text', 'src.pth: not a PyTorch checkpoint'),
    ('truncated', 'src.pth: truncated or damaged'),
    ('list', 'holds a list, not a checkpoint dict'),
    ('resnet', 'src.pth: does not hold HIRI-ViT or HRViT weights'),
    ('no_weights', 'no weights found'),
    ('ema_missing', 'no EMA weights'),
    ('bare_flag', 'drop --weights'),
    ('wrong_arch', "do not fit HIRI-ViT arch 's'"),
    ('unknown_arch', "Unknown arch 'huge'"),
    ('bad_json', 'is not valid JSON'),
    ('exists', 'or pass --force to replace it'),
    ('same', 'is the source checkpoint'),
    ('unwritable', 'Not a directory'),
])
def test_errors_are_one_line(weights, tmp_path, capsys, case, words):
    src = tmp_path / 'src.pth'
    dst = tmp_path / 'dst.pth'
    args = []
    if case == 'text':
        src.write_text('not a checkpoint\n')
    elif case == 'truncated':
        _truncated(weights, src)
    elif case == 'list':
        _save([1, 2], src)
    elif case == 'resnet':
        _save(torchvision.models.resnet18().state_dict(), src)
    elif case == 'no_weights':
        _save(dict(optimizer={}, epoch=3), src)
    elif case != 'missing':
        _save(dict(state_dict=weights[0]), src)
    if case == 'ema_missing':
        args = ['--weights', 'ema']
    elif case == 'bare_flag':
        _save({k: v for k, v in weights[0].items()}, src)
        args = ['--weights', 'raw']
    elif case == 'wrong_arch':
        args = ['--arch', 's']
    elif case == 'unknown_arch':
        args = ['--arch', 'huge']
    elif case == 'bad_json':
        args = ['--arch', '{"embed_dims": [1,']
    elif case == 'exists':
        dst.write_bytes(b'the user keeps this')
    elif case == 'same':
        dst = src
    elif case == 'unwritable':
        (tmp_path / 'file').write_text('a file, not a folder')
        dst = tmp_path / 'file' / 'dst.pth'
    before = src.read_bytes() if src.exists() else None

    message = error_line(capsys, TOOL, src, dst, *args)
    assert words in message
    # Nothing the user gave is lost or changed, nothing half-written left.
    if before is not None:
        assert src.read_bytes() == before
    if case == 'exists':
        assert dst.read_bytes() == b'the user keeps this'
    leftovers = [p for p in os.listdir(tmp_path) if '.partial' in p]
    assert not leftovers


def test_force_overwrites_the_destination_only(weights, tmp_path):
    src = _save(dict(state_dict=weights[0]), tmp_path / 'src.pth')
    dst = tmp_path / 'dst.pth'
    dst.write_bytes(b'old')
    run_tool(TOOL, src, dst, '--force')
    meta, _ = _converted(dst)
    assert meta['arch'] == 't'


PUBLISH = 'model_converters/publish_model.py'


def test_publish_keeps_plain_metadata_and_the_chosen_weights(
        weights, tmp_path, capsys):
    """Entries torch's default loader would refuse are left out and listed;
    --weights raw takes the weights EMAHook set aside."""
    from mmengine.logging import HistoryBuffer
    raw, ema = weights
    logged = HistoryBuffer()
    logged.update(0.5)
    src = _save(dict(state_dict=ema,
                     meta=dict(epoch=300, dataset_meta=dict(classes=('a', )),
                               logged=logged, sizes=[1, (2, 3)]),
                     optimizer=dict(state={}),
                     ema_state_dict={'steps': torch.tensor(7),
                                     **{f'module.{k}': v
                                        for k, v in raw.items()}}),
                tmp_path / 'epoch_300.pth')
    for flag, want in (([], ema), (['--weights', 'raw'], raw)):
        out_dir = tmp_path / (flag[-1] if flag else 'ema')
        run_tool(PUBLISH, src, out_dir / 'model.pth', *flag)
        printed = capsys.readouterr().out
        assert 'meta.logged' in printed and 'optimizer' in printed
        [path] = out_dir.glob('model-*.pth')
        published = torch.load(path)  # torch's default: weights_only=True
        meta = published['meta']
        assert (meta['epoch'], meta['sizes']) == (300, [1, (2, 3)])
        assert meta['dataset_meta'] == dict(classes=('a', ))
        assert 'logged' not in meta
        assert meta['published']['source'] == 'epoch_300.pth'
        assert set(published['state_dict']) == set(want)
        assert all(torch.equal(published['state_dict'][k], v)
                   for k, v in want.items())


def test_publish_a_bare_state_dict_leaves_nothing_out(weights, tmp_path,
                                                      capsys):
    raw, _ = weights
    src = _save(dict(raw), tmp_path / 'bare.pth')
    run_tool(PUBLISH, src, tmp_path / 'out' / 'model.pth')
    printed = capsys.readouterr().out
    assert 'left out' not in printed
    [path] = (tmp_path / 'out').glob('model-*.pth')
    published = torch.load(path)
    assert published['meta']['published']['weights'] == 'as stored'
    assert set(published['state_dict']) == set(raw)
