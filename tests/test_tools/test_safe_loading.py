"""Nothing in a checkpoint runs: checkpoints load with torch's weights_only
unpickler and exactly the types MMEngine's own checkpoints need; a file that
needs more is refused with one line, unless the user trusts it."""
import os
import subprocess
import sys

import pytest
import torch
from mmengine.runner.checkpoint import CheckpointLoader

from helpers import error_line, run_tool, toy_config
from mmhirivit.utils.checkpoint import (UnsafeCheckpointError,
                                        load_checkpoint_file,
                                        mmengine_loading)

DEMO = 'configs/maskrcnn_hirivit_t_demo_toy.py'
CONVERTER = 'model_converters/hirivit_to_backbone.py'


class RunsCode:
    """Unpickling this runs a shell command that creates ``marker``."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return os.system, (f'touch {self.marker}', )


@pytest.fixture
def malicious(tmp_path):
    """A checkpoint whose loading would run a command; and its marker."""
    marker = tmp_path / 'command_ran'
    path = tmp_path / 'malicious.pth'
    torch.save({'state_dict': {}, 'meta': {'note': RunsCode(marker)}}, path)
    return path, marker


def _refused(message, path):
    assert f'refusing to load checkpoint {path}' in message
    assert 'posix.system' in message and '--trust-checkpoint' in message


def test_importing_the_package_changes_no_loading_default(malicious):
    path, marker = malicious
    code = ('import os, pickle, torch, mmhirivit\n'
            'assert "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD" not in os.environ\n'
            'from mmhirivit.utils.checkpoint import SAFE_GLOBALS\n'
            'allowed = torch.serialization.get_safe_globals()\n'
            'assert not any(g in allowed for g in SAFE_GLOBALS)\n'
            'try:\n'
            f'    torch.load({str(path)!r})\n'
            'except pickle.UnpicklingError:\n'
            '    print("refused")\n')
    env = {k: v for k, v in os.environ.items()
           if k != 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD'}
    out = subprocess.run([sys.executable, '-c', code], env=env,
                         capture_output=True, text=True, check=True).stdout
    assert 'refused' in out and not marker.exists()


def test_load_checkpoint_file_refuses_and_trusts_on_request(malicious):
    path, marker = malicious
    with pytest.raises(UnsafeCheckpointError) as info:
        load_checkpoint_file(str(path))
    assert info.value.names == ['posix.system'] and not marker.exists()
    load_checkpoint_file(str(path), trust=True)
    assert marker.exists()


def test_mmengine_loading_is_scoped(malicious):
    path, marker = malicious
    original = CheckpointLoader._schemes['']
    with mmengine_loading():
        with pytest.raises(UnsafeCheckpointError):
            CheckpointLoader.load_checkpoint(str(path))
    assert CheckpointLoader._schemes[''] is original and not marker.exists()


def test_converter_refuses(malicious, tmp_path, capsys):
    path, marker = malicious
    dst = tmp_path / 'backbone.pth'
    _refused(error_line(capsys, CONVERTER, path, dst), path)
    assert not marker.exists() and not dst.exists()


@pytest.mark.parametrize('how', ['resume', 'load_from', 'init_cfg'])
def test_train_refuses(how, malicious, toy_root, tmp_path, capsys):
    path, marker = malicious
    extra = {
        'resume': {},
        'load_from': {'load_from': str(path)},
        'init_cfg': {'model.backbone.init_cfg': dict(
            _delete_=True, type='Pretrained', checkpoint=str(path),
            prefix='backbone.')},
    }[how]
    config = toy_config(DEMO, toy_root / 'coco', tmp_path / 'work',
                        extra=extra)
    args = ['--resume', path] if how == 'resume' else []
    _refused(error_line(capsys, 'train.py', config, *args), path)
    assert not marker.exists()


def test_test_tool_refuses(malicious, toy_root, tmp_path, capsys):
    path, marker = malicious
    config = toy_config(DEMO, toy_root / 'coco', tmp_path / 'work')
    _refused(error_line(capsys, 'test.py', config, path), path)
    assert not marker.exists()


def test_trust_checkpoint_is_an_explicit_choice(malicious, tmp_path):
    path, marker = malicious
    # Trusted, the file is unpickled (its command runs) and then rejected
    # for holding no weights.
    with pytest.raises(SystemExit) as info:
        run_tool(CONVERTER, path, tmp_path / 'backbone.pth',
                 '--trust-checkpoint')
    assert marker.exists()
    assert 'no weights found' in str(info.value.code) or \
        'HIRI-ViT' in str(info.value.code)


def test_safe_loading_reads_a_real_training_checkpoint(toy_root, tmp_path):
    config = toy_config(DEMO, toy_root / 'coco', tmp_path, iters=1)
    run_tool('train.py', config)
    checkpoint = load_checkpoint_file(str(tmp_path / 'iter_1.pth'))
    history = checkpoint['message_hub']['log_scalars']['train/loss']
    assert history.mean() > 0 and checkpoint['meta']['iter'] == 1
