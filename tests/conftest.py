import pytest

from helpers import TOY_SIZE
from mmhirivit.utils import toy_data


@pytest.fixture(scope='session')
def toy_root(tmp_path_factory):
    """Small toy datasets in the real layouts (4 train / 2 val images)."""
    root = tmp_path_factory.mktemp('toy')
    toy_data.write_coco(str(root / 'coco'), 4, 2, TOY_SIZE)
    toy_data.write_ade(str(root / 'ade'), 4, 2, TOY_SIZE)
    toy_data.write_imagenet(str(root / 'imagenet'), 6, 3, TOY_SIZE)
    return root
