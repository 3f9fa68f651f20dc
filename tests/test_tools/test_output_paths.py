"""Every tool that writes refuses an output path that is a symlink (dangling
or not) unless --force, which replaces the link itself; nothing is ever
written through a link. And every checkpoint of a shape the tools cannot
use ends each of them in one line."""
import pytest
import torch
from helpers import error_line, run_tool, toy_config

from mmhirivit.models import HIRIViT

DEMO = 'configs/maskrcnn_hirivit_t_demo_toy.py'
CONVERTER = 'model_converters/hirivit_to_backbone.py'
PUBLISH = 'model_converters/publish_model.py'
EXPORTER = 'deployment/pytorch2onnx.py'


@pytest.fixture(scope='module')
def backbone_weights(tmp_path_factory):
    path = tmp_path_factory.mktemp('weights') / 't.pth'
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in HIRIViT(
        arch='t', num_stages=5).state_dict().items()}}, path)
    return path


@pytest.fixture(scope='module')
def demo_checkpoint(toy_root, tmp_path_factory):
    work_dir = tmp_path_factory.mktemp('demo')
    run_tool('train.py', toy_config(DEMO, toy_root / 'coco', work_dir))
    return work_dir, work_dir / 'iter_1.pth'


def _dangling(tmp_path, name):
    """A symlink named ``name`` to a file that does not exist yet."""
    link = tmp_path / name
    link.symlink_to(tmp_path / f'target_of_{name}')
    return link, tmp_path / f'target_of_{name}'


def _writers(backbone_weights, demo_checkpoint):
    work_dir, checkpoint = demo_checkpoint
    config = str(work_dir / f'toy_{DEMO.split("/")[-1]}')
    return {
        'converter': (CONVERTER, lambda out: [backbone_weights, out]),
        'publish': (PUBLISH, lambda out: [checkpoint, out]),
        'exporter': (EXPORTER, lambda out: ['t', out, '--shape', 64, 64]),
        'test --out': ('test.py', lambda out: [config, checkpoint, '--out',
                                               out]),
    }


@pytest.mark.parametrize('tool', ['converter', 'publish', 'exporter',
                                  'test --out'])
def test_a_symlink_output_is_refused_then_replaced_with_force(
        tool, backbone_weights, demo_checkpoint, tmp_path, capsys):
    script, args = _writers(backbone_weights, demo_checkpoint)[tool]
    suffix = {'test --out': '.pkl', 'exporter': '.onnx'}.get(tool, '.pth')
    out = tmp_path / f'out{suffix}'
    if tool == 'publish':  # it writes out-<first 8 hex digits>.pth
        run_tool(script, *args(tmp_path / 'first' / out.name))
        [written] = (tmp_path / 'first').iterdir()
        link, target = _dangling(tmp_path, written.name)
    else:
        link, target = _dangling(tmp_path, out.name)
    message = error_line(capsys, script, *args(out))
    assert 'is a symlink' in message and '--force' in message, message
    assert not target.exists()
    run_tool(script, *args(out), '--force')
    assert link.is_file() and not link.is_symlink() and not target.exists()


def test_show_dir_symlink(demo_checkpoint, tmp_path, capsys):
    work_dir, checkpoint = demo_checkpoint
    config = str(work_dir / f'toy_{DEMO.split("/")[-1]}')
    target = tmp_path / 'elsewhere'
    target.mkdir()
    link = tmp_path / 'vis'
    link.symlink_to(target)
    message = error_line(capsys, 'test.py', config, checkpoint, '--show-dir',
                         link)
    assert 'is a symlink' in message
    run_tool('test.py', config, checkpoint, '--show-dir', link, '--force')
    assert link.is_dir() and not link.is_symlink()
    assert not any(target.iterdir())


LAYOUTS = {
    'a list': ([torch.ones(1)], 'holds a list'),
    'a state_dict list': ({'state_dict': [torch.ones(1)]},
                          'its state_dict is a list'),
    'int keys': ({'state_dict': {0: torch.ones(1)}},
                 'its state_dict has the key 0'),
}


@pytest.mark.parametrize('tool, layout', [
    *[(tool, 'int keys') for tool in ('test', 'resume', 'load_from',
                                      'step time', 'exporter', 'converter',
                                      'publish')],
    ('test', 'a list'), ('resume', 'a state_dict list')])
def test_wrong_layouts_end_every_tool_in_one_line(tool, layout, toy_root,
                                                  tmp_path, capsys):
    content, words = LAYOUTS[layout]
    odd = tmp_path / 'odd.pth'
    torch.save(content, odd)
    config = toy_config(DEMO, toy_root / 'coco', tmp_path / 'work')
    args = {
        'test': ('test.py', [config, odd]),
        'resume': ('train.py', [config, '--resume', odd]),
        'load_from': ('train.py', [config, '--cfg-options',
                                   f'load_from={odd}']),
        'step time': ('analysis_tools/train_step_time.py',
                      [config, '--steps', 1, '--warmup', 0, '--checkpoint',
                       odd]),
        'exporter': (EXPORTER, ['t', tmp_path / 't.onnx', '--shape', 64, 64,
                                '--checkpoint', odd]),
        'converter': (CONVERTER, [odd, tmp_path / 'b.pth']),
        'publish': (PUBLISH, [odd, tmp_path / 'p.pth']),
    }[tool]
    message = error_line(capsys, *args[:1], *args[1])
    assert f'cannot load checkpoint {odd}: {words}' in message, message


def test_test_onnx_refuses_a_file_that_is_not_onnx(toy_root, tmp_path,
                                                   capsys):
    config = toy_config(DEMO, toy_root / 'coco', tmp_path / 'work')
    fake = tmp_path / 'model.onnx'
    fake.write_bytes(b'not a model')
    message = error_line(capsys, 'deployment/test_onnx.py', config, fake)
    assert f'{fake} is not an ONNX model onnxruntime can run' in message
