import pytest
from helpers import TOY_SIZE

from mmhirivit.tools import toy_data


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
