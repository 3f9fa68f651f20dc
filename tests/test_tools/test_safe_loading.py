"""A checkpoint is data: nothing in it runs, by any path.

The tests build malicious checkpoints of each kind (a command in
``__reduce__``, numpy state that makes raw bytes into object pointers, a
stored config that is Python code) and drive them through every way the
tools, configs and documented library calls load a checkpoint: each scheme
MMEngine knows (a path, ``~``, ``http://`` from a loopback server started
here, ``torchvision://``, ``open-mmlab://`` and ``mmcls://`` from a hub cache
planted here), resume (by path and through ``last_checkpoint``),
``load_from``, ``init_cfg``, the inferencer, the converter, the exporter and
the benchmark. Each is refused in one line with its command never run, and
loads with ``--trust-checkpoint``, the documented escape.
"""
import collections
import io
import json
import os
import os.path as osp
import pickle
import struct
import subprocess
import sys
import zipfile

import numpy as np
import pytest
import torch
from helpers import (RunsCode, as_bytes, error_line, repo_path, run_tool,
                     toy_config)
from mmengine.runner.checkpoint import (CheckpointLoader, get_external_models,
                                        get_mmcls_models,
                                        get_torchvision_models)

from mmhirivit.models import HIRIViT
from mmhirivit.utils.checkpoint import (CheckpointError, UnsafeCheckpointError,
                                        load_checkpoint_file, mmengine_loading)

DEMO = 'configs/maskrcnn_hirivit_t_demo_toy.py'
CONVERTER = 'model_converters/hirivit_to_backbone.py'
EXPORTER = 'deployment/pytorch2onnx.py'
STEP_TIME = 'analysis_tools/train_step_time.py'


class ObjectArray:
    """Pickles as numpy's own array pickle with an object dtype over raw
    bytes: reading an element would dereference 0x4141... ."""

    def __reduce__(self):
        return (np.ndarray.__reduce__(np.zeros(1))[0],
                (np.ndarray, (0, ), b'b'),
                (1, (2, ), np.dtype('O'), False, b'A' * 16))


class FlaggedDtype:
    """A float64 dtype whose state sets numpy's object flags."""

    def __reduce__(self):
        state = (3, '<', None, None, None, -1, -1, 63)
        return np.dtype, ('f8', False, True), state


class FlaggedArray:

    def __reduce__(self):
        return (np.ndarray.__reduce__(np.zeros(1))[0],
                (np.ndarray, (0, ), b'b'),
                (1, (2, ), FlaggedDtype(), False, b'A' * 16))


UNSAFE = {
    'reduce': ('posix.system', lambda marker: RunsCode(marker)),
    'object_dtype': ("numpy dtype 'O8'", lambda marker: ObjectArray()),
    'dtype_state': ('numpy dtype state', lambda marker: FlaggedArray()),
}


def _refused(message, name, needs='posix.system'):
    assert f'refusing to load checkpoint {name}' in message
    assert needs in message and '--trust-checkpoint' in message


@pytest.mark.parametrize('kind', sorted(UNSAFE))
def test_unsafe_content_is_refused_and_loads_when_trusted(
        kind, tmp_path, marker):
    needs, make = UNSAFE[kind]
    path = tmp_path / f'{kind}.pth'
    torch.save({'state_dict': {'w': torch.ones(2)}, 'x': make(marker)}, path)
    with pytest.raises(UnsafeCheckpointError) as info:
        load_checkpoint_file(str(path))
    _refused(str(info.value), path, needs)
    assert '\n' not in str(info.value) and not marker.exists()
    if kind == 'reduce':  # trusted, the file is unpickled as it asks
        load_checkpoint_file(str(path), trust=True)
        assert marker.exists()


def _numpy1(path, obj):
    """``obj`` saved as numpy 1.x pickles it (``numpy.core.multiarray``)."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(path, 'w') as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith('data.pkl'):
                data = data.replace(b'numpy._core.multiarray',
                                    b'numpy.core.multiarray')
            dst.writestr(info, data)
    return path


def test_numpy_data_loads_in_the_forms_numpy_writes(tmp_path):
    data = {'a': np.arange(6.).reshape(2, 3), 'i': np.int64(7),
            'b': np.array([True, False]), 'c': np.complex64(1j),
            'big': np.arange(3, dtype='>i4')}
    for path in (tmp_path / 'np2.pth', tmp_path / 'np1.pth'):
        if path.name == 'np1.pth':
            _numpy1(path, data)
        else:
            torch.save(data, path)
        loaded = load_checkpoint_file(str(path))
        for key, value in data.items():
            np.testing.assert_array_equal(loaded[key], value)
            assert loaded[key].dtype.str[1:] == value.dtype.str[1:]
    with zipfile.ZipFile(tmp_path / 'np1.pth') as archive:
        [pkl] = [n for n in archive.namelist() if n.endswith('data.pkl')]
        assert b'numpy.core.multiarray' in archive.read(pkl)


def _legacy(path):
    torch.save({'w': torch.ones(2)}, path,
               _use_new_zipfile_serialization=False)


def _truncated(path):
    buf = io.BytesIO()
    torch.save({'w': torch.ones(100)}, buf)
    path.write_bytes(buf.getvalue()[:buf.tell() // 2])


def _safetensors(path):
    header = json.dumps({'w': {'dtype': 'F32', 'shape': [1],
                               'data_offsets': [0, 4]}}).encode()
    path.write_bytes(struct.pack('<Q', len(header)) + header + bytes(4))


BAD_FILES = {
    'missing': (lambda path: None, 'no such file'),
    'folder': (lambda path: path.mkdir(), 'is a folder'),
    'empty': (lambda path: path.write_bytes(b''), 'the file is empty'),
    'garbage': (lambda path: path.write_text('not a checkpoint\n' * 4),
                'neither a zip archive nor a pickle'),
    'pickle': (lambda path: path.write_bytes(pickle.dumps({'w': 1})),
               'a plain pickle'),
    'legacy': (_legacy, "PyTorch's legacy format"),
    'truncated': (_truncated, 'truncated or damaged'),
    'safetensors': (_safetensors, 'a safetensors file'),
    'other_zip': (lambda path: zipfile.ZipFile(path, 'w').writestr('x', 'y'),
                  'not a PyTorch checkpoint'),
    'fifo': (os.mkfifo, 'is a FIFO'),
    'device': (lambda path: path.symlink_to('/dev/zero'),
               'is a character device'),
}


@pytest.mark.parametrize('kind', sorted(BAD_FILES))
def test_bad_files_end_in_one_line(kind, tmp_path, capsys):
    make, words = BAD_FILES[kind]
    src = tmp_path / 'src.pth'
    make(src)
    before = src.read_bytes() if src.is_file() and not src.is_symlink() \
        else None
    message = error_line(capsys, CONVERTER, src, tmp_path / 'dst.pth')
    assert message.startswith(f'error: cannot load checkpoint {src}: ')
    assert words in message
    assert not (tmp_path / 'dst.pth').exists()
    if before is not None:
        assert src.read_bytes() == before


def test_legacy_format_loads_when_trusted(tmp_path):
    _legacy(tmp_path / 'legacy.pth')
    checkpoint = load_checkpoint_file(tmp_path / 'legacy.pth', trust=True)
    assert torch.equal(checkpoint['w'], torch.ones(2))


def test_importing_the_package_changes_no_loading_default(malicious, marker):
    code = ('import os, pickle, torch, torch._dynamo, mmcv.cnn, '
            'mmengine.runner\n'
            'before = set(torch.serialization.get_safe_globals())\n'
            'import mmhirivit\n'
            'assert "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD" not in os.environ\n'
            'assert set(torch.serialization.get_safe_globals()) == before\n'
            'assert torch.load is torch.serialization.load\n'
            'try:\n'
            f'    torch.load({str(malicious)!r})\n'
            'except pickle.UnpicklingError:\n'
            '    print("refused")\n')
    env = {k: v for k, v in os.environ.items()
           if k != 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD'}
    out = subprocess.run([sys.executable, '-c', code], env=env,
                         capture_output=True, text=True, check=True).stdout
    assert 'refused' in out and not marker.exists()


def _originals():
    import mmengine.runner.checkpoint as mmengine_checkpoint
    return (torch.load, torch.hub.load_state_dict_from_url,
            mmengine_checkpoint.load_url)


def test_mmengine_loading_is_scoped_and_nests(malicious, marker):
    original = _originals()
    with mmengine_loading(trust=True):
        with mmengine_loading():  # keeps the enclosing block's trust
            torch.load(str(malicious), weights_only=False)
        assert marker.exists()
        marker.unlink()
        with mmengine_loading(trust=False):
            with pytest.raises(UnsafeCheckpointError):
                torch.load(str(malicious), weights_only=False)
    assert _originals() == original
    assert not marker.exists()
    # Outside every block MMEngine loads with its own loader (torch's
    # default weights_only=True refuses the file in its own words).
    with pytest.raises(pickle.UnpicklingError) as info:
        CheckpointLoader.load_checkpoint(str(malicious), 'cpu')
    assert not isinstance(info.value, UnsafeCheckpointError)
    assert not marker.exists()


def _url_of(name):
    """The URL MMEngine downloads a ``scheme://model`` name from."""
    scheme, model = name.split('://')
    table = {'torchvision': get_torchvision_models,
             'open-mmlab': get_external_models,
             'mmcls': get_mmcls_models}[scheme]()
    return table[model]


# One model name of each name scheme MMEngine resolves to a download URL.
NAMED = ('torchvision://resnet18', 'open-mmlab://resnet50_v1c',
         'mmcls://resnet50')


def _place(content, file_name, how, tmp_path, served, hub_cache,
           monkeypatch):
    """Put the checkpoint ``content`` where ``how`` finds it; return the name
    to load it by."""
    if how in ('path', 'tilde'):
        monkeypatch.setenv('HOME', str(tmp_path))
        (tmp_path / file_name).write_bytes(content)
        return str(tmp_path / file_name) if how == 'path' else \
            f'~/{file_name}'
    if how == 'http':
        root, url = served
        (root / file_name).write_bytes(content)
        return f'{url}/{file_name}'
    # A model name whose file is already in the hub cache (nothing is
    # downloaded; the cache is as untrusted as any other file).
    (hub_cache / osp.basename(_url_of(how))).write_bytes(content)
    return how


@pytest.mark.parametrize('how', ['path', 'tilde', 'http', *NAMED])
def test_every_scheme_loads_safely(how, tmp_path, served, hub_cache,
                                   monkeypatch, marker):
    # (mmcls:// keeps the backbone's weights, without their prefix.)
    weights = {'state_dict': {'backbone.conv.weight': torch.arange(4.)}}
    honest = _place(as_bytes(weights), 'honest.pth', how, tmp_path, served,
                    hub_cache, monkeypatch)
    with mmengine_loading():
        loaded = CheckpointLoader.load_checkpoint(honest, 'cpu')
    [value] = loaded['state_dict'].values()
    torch.testing.assert_close(value, torch.arange(4.))

    evil = _place(as_bytes({'x': RunsCode(marker)}), 'evil.pth', how,
                  tmp_path, served, hub_cache, monkeypatch)
    with mmengine_loading(), pytest.raises(UnsafeCheckpointError):
        CheckpointLoader.load_checkpoint(evil, 'cpu')
    # torch.hub itself, asked to unpickle fully, is held to the same door.
    url = evil if how == 'http' else _url_of(how) if how in NAMED else \
        'file://' + str(tmp_path / 'evil.pth')
    with mmengine_loading(), pytest.raises(UnsafeCheckpointError):
        torch.hub.load_state_dict_from_url(url, weights_only=False)
    assert not marker.exists()


def test_backbone_init_loads_safely_outside_the_tools(served, marker):
    root, url = served
    (root / 'evil.pth').write_bytes(as_bytes({'x': RunsCode(marker)}))
    backbone = HIRIViT(arch='t', init_cfg=dict(
        type='Pretrained', checkpoint=f'{url}/evil.pth'))
    with pytest.raises(UnsafeCheckpointError):
        backbone.init_weights()
    assert not marker.exists()


@pytest.mark.parametrize('how', [
    'resume', 'resume_auto', 'resume_http', 'load_from', 'load_from_http',
    'init_cfg', 'init_cfg_http'
])
def test_train_refuses(how, malicious, served, toy_root, tmp_path, capsys,
                       marker):
    root, url = served
    (root / 'malicious.pth').write_bytes(malicious.read_bytes())
    name = f'{url}/malicious.pth' if how.endswith('_http') else str(
        malicious)
    work_dir = tmp_path / 'work'
    extra = {}
    if how.startswith('load_from'):
        extra = {'load_from': name}
    elif how.startswith('init_cfg'):
        extra = {'model.backbone.init_cfg': dict(
            _delete_=True, type='Pretrained', checkpoint=name,
            prefix='backbone.')}
    config = toy_config(DEMO, toy_root / 'coco', work_dir, extra=extra)
    args = []
    if how == 'resume_auto':
        (work_dir / 'last_checkpoint').write_text(name)
        args = ['--resume']
    elif how.startswith('resume'):
        args = ['--resume', name]
    message = error_line(capsys, 'train.py', config, *args)
    assert 'refusing to load checkpoint' in message
    assert 'posix.system' in message and not marker.exists()


@pytest.mark.parametrize('how', ['path', 'http'])
def test_test_tool_refuses(how, malicious, served, toy_root, tmp_path, capsys,
                           marker):
    root, url = served
    (root / 'malicious.pth').write_bytes(malicious.read_bytes())
    name = f'{url}/malicious.pth' if how == 'http' else malicious
    config = toy_config(DEMO, toy_root / 'coco', tmp_path / 'work')
    message = error_line(capsys, 'test.py', config, name)
    assert 'refusing to load checkpoint' in message and not marker.exists()


@pytest.mark.parametrize('tool, args', [
    ('demo.py', lambda config, ckpt: [config, '--cfg-options',
                                      f'load_from={ckpt}']),
    (CONVERTER, lambda config, ckpt: [ckpt, osp.join(osp.dirname(ckpt),
                                                     'backbone.pth')]),
    (EXPORTER, lambda config, ckpt: ['t', osp.join(osp.dirname(ckpt),
                                                   't.onnx'), '--shape', 64,
                                     64, '--checkpoint', ckpt]),
    (STEP_TIME, lambda config, ckpt: [config, '--steps', 1, '--warmup', 0,
                                      '--checkpoint', ckpt]),
])
def test_other_tools_refuse(tool, args, malicious, toy_root, tmp_path, capsys,
                            marker):
    config = toy_config(DEMO, toy_root / 'coco', tmp_path / 'work')
    _refused(error_line(capsys, tool, *args(config, str(malicious))),
             malicious)
    assert not marker.exists()
    assert not (tmp_path / 'backbone.pth').exists()
    assert not (tmp_path / 't.onnx').exists()


def test_trust_checkpoint_is_an_explicit_choice(malicious, tmp_path, marker):
    # Trusted, the file is unpickled (its command runs) and then rejected
    # for holding no weights.
    with pytest.raises(SystemExit) as info:
        run_tool(CONVERTER, malicious, tmp_path / 'backbone.pth',
                 '--trust-checkpoint')
    assert marker.exists()
    assert 'does not hold HIRI-ViT or HRViT weights' in str(info.value.code)


@pytest.fixture(scope='module')
def trained(toy_root, tmp_path_factory):
    """A real checkpoint of tools/train.py (the demo config, 1 iteration)."""
    work_dir = tmp_path_factory.mktemp('trained')
    run_tool('train.py', toy_config(DEMO, toy_root / 'coco', work_dir))
    return work_dir / 'iter_1.pth'


def test_safe_loading_reads_a_real_training_checkpoint(trained):
    checkpoint = load_checkpoint_file(str(trained))
    history = checkpoint['message_hub']['log_scalars']['train/loss']
    assert history.mean() > 0 and checkpoint['meta']['iter'] == 1
    # The config text MMEngine stored is set aside, unread.
    assert 'cfg' not in checkpoint['meta']
    assert 'cfg' not in checkpoint['message_hub']['runtime_info']


def test_a_checkpoint_of_a_coco_config_loads(toy_root, tmp_path):
    """The COCO configs' MultiStepLR keeps its milestones in a Counter, and
    a full-state-dict save under FSDP marks tensors ``_has_been_cloned``:
    both are data and load."""
    run_tool('train.py', toy_config('configs/retinanet_hirivit_s_1x_coco.py',
                                    toy_root / 'coco', tmp_path))
    checkpoint = load_checkpoint_file(tmp_path / 'epoch_1.pth')
    milestones = [s.get('milestones') for s in checkpoint['param_schedulers']]
    assert any(isinstance(m, collections.Counter) for m in milestones)
    marked = torch.ones(2)
    marked._has_been_cloned = True
    loaded = load_checkpoint_file(io.BytesIO(as_bytes({'w': marked})),
                                  name='fsdp')
    assert torch.equal(loaded['w'], torch.ones(2))


def test_stored_config_text_never_runs(trained, toy_root, tmp_path, marker):
    code = f'import os\nos.system("touch {marker}")\n'
    checkpoint = torch.load(str(trained), weights_only=False)
    checkpoint['meta'].update(config=code, cfg=code)
    checkpoint['message_hub']['runtime_info']['cfg'] = code
    planted = tmp_path / 'planted.pth'
    torch.save(checkpoint, planted)

    # Resuming from it continues the run; trusted, the text is not run
    # either.
    work_dir = tmp_path / 'work'
    config = toy_config(DEMO, toy_root / 'coco', work_dir, iters=2, extra=dict(
        default_hooks=dict(checkpoint=dict(interval=1))))
    run_tool('train.py', config, '--resume', planted)
    assert (work_dir / 'iter_2.pth').exists() and not marker.exists()
    assert 'config' not in load_checkpoint_file(planted, trust=True)['meta']

    # An inferencer asked to take the config from the checkpoint finds none.
    from mmdet.apis import DetInferencer
    with mmengine_loading(), pytest.raises(ValueError, match='config'):
        DetInferencer(model=None, weights=str(planted), device='cpu')
    assert not marker.exists()


def test_inferencer_refuses(malicious, marker):
    from mmdet.apis import DetInferencer
    with mmengine_loading(), pytest.raises(UnsafeCheckpointError):
        DetInferencer(model=repo_path(DEMO),
                      weights=str(malicious), device='cpu')
    assert not marker.exists()


def test_bad_resume_file_is_one_line(toy_root, tmp_path, capsys):
    config = toy_config(DEMO, toy_root / 'coco', tmp_path / 'work')
    _truncated(tmp_path / 'cut.pth')
    for name, words in [(tmp_path / 'cut.pth', 'truncated or damaged'),
                        ('~/no_such.pth', 'no_such.pth: no such file')]:
        message = error_line(capsys, 'train.py', config, '--resume', name)
        assert 'cannot load checkpoint' in message and words in message


def test_checkpoint_errors_are_value_errors():
    assert issubclass(CheckpointError, ValueError)
    assert issubclass(UnsafeCheckpointError, pickle.UnpicklingError)
