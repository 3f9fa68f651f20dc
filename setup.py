"""Install mmhirivit: ``pip install -e .`` inside the environment that
``tools/setup_env.sh`` builds (torch and mmcv are installed there first)."""
import os.path as osp
import re

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


def read_requirements(name):
    """Requirement lines of ``requirements/<name>.txt``, comments dropped."""
    with open(osp.join(HERE, 'requirements', f'{name}.txt')) as f:
        lines = (line.split('#')[0].strip() for line in f)
        return [line for line in lines if line]


def read_version():
    with open(osp.join(HERE, 'mmhirivit', 'version.py')) as f:
        return re.search(r"__version__ = '([^']+)'", f.read()).group(1)


setup(
    name='mmhirivit',
    version=read_version(),
    description='HIRI-ViT backbone for the OpenMMLab ecosystem '
    '(mmdet, mmseg, mmpretrain)',
    long_description=open(osp.join(HERE, 'README.md')).read()
    if osp.exists(osp.join(HERE, 'README.md')) else '',
    long_description_content_type='text/markdown',
    license='Apache License 2.0',
    packages=find_packages(exclude=('configs', 'tools', 'tests')),
    python_requires='>=3.8',
    install_requires=read_requirements('torch') +
    read_requirements('mminstall') + read_requirements('runtime'),
    extras_require={
        'tests': read_requirements('tests'),
        'deploy': read_requirements('deploy'),
    },
    zip_safe=False,
)
