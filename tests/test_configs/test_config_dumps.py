"""Every shipped config builds to the settings recorded in ``dumps/``.

A change to a config file, or to an mmdet/mmseg/mmpretrain base it inherits,
shows up here as the exact settings that moved. When the change is intended,
record it::

    python tests/test_configs/test_config_dumps.py --update

and the diff of ``dumps/`` in the commit shows what every built config now
holds.
"""
import argparse
import glob
import json
import os.path as osp

import pytest

from mmhirivit.tools.configs import read_config

HERE = osp.dirname(osp.abspath(__file__))
DUMPS = osp.join(HERE, 'dumps')
CONFIGS = sorted(glob.glob(osp.join(HERE, '..', '..', 'configs', '*.py')))


def built(config):
    """The config as the tools build it, as JSON-ready data."""
    return json.loads(json.dumps(read_config(config).to_dict(), default=repr))


def dump_path(config):
    return osp.join(DUMPS, osp.basename(config)[:-3] + '.json')


def differences(recorded, now, path=''):
    """One line per setting that differs between two built configs."""
    if isinstance(recorded, dict) and isinstance(now, dict):
        lines = []
        for key in sorted(set(recorded) | set(now)):
            where = f'{path}.{key}' if path else key
            if key not in now:
                lines.append(f'{where}: removed (was {recorded[key]!r})')
            elif key not in recorded:
                lines.append(f'{where}: added ({now[key]!r})')
            else:
                lines += differences(recorded[key], now[key], where)
        return lines
    if (isinstance(recorded, list) and isinstance(now, list)
            and len(recorded) == len(now)):
        return [line for i, (a, b) in enumerate(zip(recorded, now))
                for line in differences(a, b, f'{path}[{i}]')]
    return [] if recorded == now else [f'{path}: {recorded!r} -> {now!r}']


def test_every_config_has_a_dump():
    recorded = {osp.basename(p)[:-5] for p in glob.glob(f'{DUMPS}/*.json')}
    shipped = {osp.basename(p)[:-3] for p in CONFIGS}
    assert recorded == shipped


@pytest.mark.parametrize('config', CONFIGS, ids=osp.basename)
def test_config_builds_as_recorded(config):
    with open(dump_path(config)) as f:
        recorded = json.load(f)
    lines = differences(recorded, built(config))
    assert not lines, '\n'.join(
        [f'{osp.basename(config)} differs from its dump:'] + lines +
        ['if intended: python tests/test_configs/test_config_dumps.py '
         '--update'])


def update():
    """Rewrite ``dumps/`` from the configs, printing what changed."""
    for config in CONFIGS:
        path, now = dump_path(config), built(config)
        if osp.isfile(path):
            with open(path) as f:
                for line in differences(json.load(f), now):
                    print(f'{osp.basename(config)}: {line}')
        with open(path, 'w') as f:
            json.dump(now, f, indent=1, sort_keys=True)
            f.write('\n')


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--update', action='store_true', required=True,
                        help='rewrite the dumps from the configs')
    parser.parse_args()
    update()
