import functools
import http.server
import threading

import pytest
import torch
from helpers import TOY_SIZE, RunsCode

from mmhirivit.datasets import toy_data


@pytest.fixture(scope='session')
def toy_root(tmp_path_factory):
    """Small toy datasets in the real layouts (4 train / 2 val images)."""
    root = tmp_path_factory.mktemp('toy')
    toy_data.write_coco(str(root / 'coco'), 4, 2, TOY_SIZE)
    toy_data.write_ade(str(root / 'ade'), 4, 2, TOY_SIZE)
    toy_data.write_imagenet(str(root / 'imagenet'), 6, 3, TOY_SIZE)
    return root


def _subclasses(cls):
    yield cls
    for sub in cls.__subclasses__():
        yield from _subclasses(sub)


@pytest.fixture(autouse=True)
def fresh_visualizers():
    """Forget mmengine's visualizers after each test.

    They are named singletons: without this, every later Runner in the
    process reuses the first one, which writes into the first test's work
    dir (already deleted, as tmp dirs of passed tests are).
    """
    yield
    from mmengine.visualization import Visualizer
    for cls in _subclasses(Visualizer):
        cls._instance_dict.clear()


@pytest.fixture(autouse=True)
def fresh_loggers():
    """Forget MMEngine's loggers after each test.

    They are named singletons too, and their console handlers hold the
    stream pytest captured for the test that made them: a later test
    logging through one writes to a closed stream, and Python's logging
    prints "--- Logging error ---" with a traceback on the current stderr.
    """
    yield
    from mmengine.logging import MMLogger
    MMLogger._instance_dict.clear()


@pytest.fixture
def marker(tmp_path):
    """A file that only a checkpoint's code would create."""
    return tmp_path / 'command_ran'


@pytest.fixture
def malicious(tmp_path, marker):
    """A checkpoint whose loading would run a command."""
    path = tmp_path / 'malicious.pth'
    torch.save({'state_dict': {}, 'meta': {'note': RunsCode(marker)}}, path)
    return path


@pytest.fixture
def served(tmp_path):
    """A loopback HTTP server over ``tmp_path/www``; yields its base URL."""
    root = tmp_path / 'www'
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler,
                                directory=str(root))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f'http://127.0.0.1:{server.server_address[1]}'
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def hub_cache(tmp_path, monkeypatch):
    """An empty torch hub cache of this test's own; yields its folder."""
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    folder = tmp_path / 'torch_home' / 'hub' / 'checkpoints'
    folder.mkdir(parents=True)
    return folder
