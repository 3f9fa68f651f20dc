"""Nothing unsafe is left where another program reads it: a download enters
torch's hub cache only once it has loaded safely, a refused one leaves
nothing, an honest cache file is never replaced, and torch.hub's unpacking
of zip downloads is never used. Each test ends by loading the cache with
plain torch.hub defaults (``weights_only=False`` on a cache hit) in a fresh
process, as any other program would."""
import io
import os
import subprocess
import sys
import zipfile

import pytest
import torch
from helpers import RunsCode, as_bytes
from mmengine.runner.checkpoint import CheckpointLoader

from mmhirivit.utils.checkpoint import (CheckpointError, UnsafeCheckpointError,
                                        mmengine_loading)

# The file name torchvision's ResNet-18 weights have (and so the name the
# cache holds them under).
RESNET18 = 'resnet18-f37072fd.pth'
HONEST = {'fc.bias': torch.arange(3.)}


def _load_cache_in_a_fresh_process(name, marker):
    """Load ``name`` from the hub cache as a program without mmhirivit would
    (the URL's host is unreachable: only a cache hit can succeed)."""
    code = ('import torch\n'
            'sd = torch.hub.load_state_dict_from_url('
            f'"http://127.0.0.1:9/{name}")\n'
            'print(sorted(sd))\n')
    result = subprocess.run([sys.executable, '-c', code], env=os.environ,
                            capture_output=True, text=True)
    assert not marker.exists(), 'code from the cache ran'
    return result


def test_a_refused_download_is_not_cached(served, hub_cache, marker):
    root, url = served
    (root / RESNET18).write_bytes(as_bytes({'x': RunsCode(marker)}))
    with mmengine_loading(), pytest.raises(UnsafeCheckpointError):
        CheckpointLoader.load_checkpoint(f'{url}/{RESNET18}', 'cpu')
    assert not os.listdir(hub_cache)
    result = _load_cache_in_a_fresh_process(RESNET18, marker)
    assert result.returncode != 0  # nothing cached, nothing to download


def test_a_safe_download_is_cached_and_an_honest_file_kept(
        served, hub_cache, marker):
    root, url = served
    (root / 'weights.pth').write_bytes(as_bytes(HONEST))
    with mmengine_loading():
        first = CheckpointLoader.load_checkpoint(f'{url}/weights.pth', 'cpu')
    assert sorted(os.listdir(hub_cache)) == ['weights.pth']
    # The server now serves something else under the cached name: the
    # cached file is used, as torch.hub does, and stays as it was.
    (root / 'weights.pth').write_bytes(as_bytes({'x': RunsCode(marker)}))
    with mmengine_loading():
        second = torch.hub.load_state_dict_from_url(f'{url}/weights.pth')
    for checkpoint in (first, second):
        torch.testing.assert_close(checkpoint['fc.bias'], torch.arange(3.))
    result = _load_cache_in_a_fresh_process('weights.pth', marker)
    assert result.returncode == 0 and "['fc.bias']" in result.stdout


def test_a_zip_download_is_never_unpacked(served, hub_cache, marker):
    """torch.hub unpacks a one-member zip into the cache, over whatever
    file of the member's name is there."""
    honest = as_bytes(HONEST)
    (hub_cache / RESNET18).write_bytes(honest)
    root, url = served
    bundle = io.BytesIO()
    with zipfile.ZipFile(bundle, 'w') as archive:
        archive.writestr(RESNET18, as_bytes({'x': RunsCode(marker)}))
    (root / 'bundle.zip').write_bytes(bundle.getvalue())
    with mmengine_loading(), pytest.raises(CheckpointError,
                                           match='not a PyTorch checkpoint'):
        torch.hub.load_state_dict_from_url(f'{url}/bundle.zip')
    assert sorted(os.listdir(hub_cache)) == [RESNET18]
    assert (hub_cache / RESNET18).read_bytes() == honest
    result = _load_cache_in_a_fresh_process(RESNET18, marker)
    assert result.returncode == 0 and "['fc.bias']" in result.stdout


def test_a_download_above_the_limit_is_refused(served, hub_cache,
                                               monkeypatch):
    root, url = served
    (root / 'big.pth').write_bytes(as_bytes({'w': torch.zeros(1000)}))
    monkeypatch.setenv('MMHIRIVIT_MAX_CHECKPOINT_GB', str(1000 / 2**30))
    with mmengine_loading(), pytest.raises(CheckpointError,
                                           match='above the'):
        CheckpointLoader.load_checkpoint(f'{url}/big.pth', 'cpu')
    assert not os.listdir(hub_cache)
