"""Evaluate a checkpoint of a detector, segmenter or classifier config.

Options as mmdet's and mmseg's ``tools/test.py``: ``--tta`` (the config's
``tta_model`` and ``tta_pipeline``), ``--out`` (the predictions as a pickle)
and ``--show-dir`` (the predictions drawn on the test images); an existing
``--out`` file, or a symlink as ``--out`` or ``--show-dir``, is replaced only
with ``--force`` (the link itself, never what it points to).

Example::

    python tools/test.py configs/maskrcnn_hirivit_s_1x_coco.py \
        work_dirs/maskrcnn_hirivit_s_1x_coco/epoch_12.pth \
        --tta --out results.pkl --show-dir vis
"""
import argparse
import os
import os.path as osp
from contextlib import ExitStack

from mmengine.config import ConfigDict
from mmengine.runner import Runner

import mmhirivit  # noqa: F401  (registers the models)
from mmhirivit.cli import UsageError, add_common_args, load_config, run_cli
from mmhirivit.engine.setup import check_data, missing_local
from mmhirivit.utils.checkpoint import mmengine_loading
from mmhirivit.utils.files import (OutputExistsError, atomic_output,
                                   check_output)

PICKLE_SUFFIXES = ('.pkl', '.pickle')


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    add_common_args(parser)
    parser.add_argument('checkpoint', help='checkpoint file to evaluate')
    parser.add_argument(
        '--tta', action='store_true',
        help='test-time augmentation with the config\'s tta_model and '
        'tta_pipeline (COCO: three scales x flip; ADE20K: six scales x flip)')
    parser.add_argument(
        '--out', help='also write the predictions to this pickle file '
        '(.pkl or .pickle; an existing file is not overwritten)')
    parser.add_argument(
        '--show-dir', help='draw the predictions on the test images into '
        'this folder')
    parser.add_argument(
        '--force', action='store_true',
        help='replace an existing --out file, or a symlink given as --out '
        'or --show-dir (the link itself, never what it points to)')
    return parser.parse_args()


def use_tta(cfg, config):
    """Wrap the model in the config's TTA model and test on its TTA
    pipeline, as mmdet's and mmseg's tools do."""
    missing = [key for key in ('tta_model', 'tta_pipeline') if key not in cfg]
    if missing:
        raise UsageError(f'--tta: {config} sets no {" or ".join(missing)}; '
                         f'the shipped COCO and ADE20K configs do')
    cfg.model = ConfigDict(**cfg.tta_model, module=cfg.model)
    cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline


def check_out_file(path, force):
    """Raise :class:`UsageError` unless the predictions can go to ``path``
    without replacing anything (or with ``force``, replacing a file or a
    symlink there, never writing through the link)."""
    if not path.endswith(PICKLE_SUFFIXES):
        raise UsageError(f'--out {path}: the predictions are written as a '
                         f'pickle; give a file name ending in '
                         f'{" or ".join(PICKLE_SUFFIXES)}')
    try:
        check_output(path, force)
    except OutputExistsError as err:
        raise UsageError(f'--out: {err} (nothing was evaluated)') from None
    folder = osp.dirname(osp.abspath(path))
    if not os.access(folder, os.W_OK):
        raise UsageError(f'--out {path}: cannot write to {folder}')


def check_show_dir(path, force):
    """Raise :class:`UsageError` if ``path`` is a symlink, unless ``force``,
    which removes the link (never what it points to) so that a folder of
    its own takes its place."""
    if not osp.islink(path):
        return
    if not force:
        raise UsageError(f'--show-dir {path} is a symlink (to '
                         f'{os.readlink(path)}); nothing is drawn through it: '
                         f'choose another folder, or pass --force to replace '
                         f'the link with a folder')
    os.unlink(path)


def draw_into(cfg, show_dir):
    """Turn on the config's visualisation hook, writing into ``show_dir``."""
    show_dir = osp.abspath(show_dir)
    hooks = cfg.default_hooks
    if cfg.default_scope == 'mmpretrain':
        hooks.visualization = dict(type='VisualizationHook', enable=True,
                                   out_dir=show_dir)
        return
    if 'visualization' not in hooks:
        raise UsageError('--show-dir needs a visualization hook in '
                         'default_hooks, as in mmdet\'s and mmseg\'s '
                         'default_runtime')
    hooks.visualization.draw = True
    if cfg.default_scope == 'mmdet':
        hooks.visualization.test_out_dir = show_dir
    else:
        # mmseg's hook saves through the visualizer's backends (into
        # show_dir/vis_data/vis_image), every 50th image unless told.
        cfg.visualizer.save_dir = show_dir
        hooks.visualization.interval = 1


def dump_metric(cfg, out):
    """The metric that writes the predictions to ``out``, as each codebase's
    tools/test.py adds it."""
    if cfg.default_scope == 'mmdet':
        from mmdet.evaluation import DumpDetResults
        return DumpDetResults(out_file_path=out)
    from mmengine.evaluator import DumpResults
    return DumpResults(out_file_path=out)


def main():
    args = parse_args()
    cfg = load_config(args)
    if missing_local(args.checkpoint):
        raise UsageError(f'checkpoint file not found: {args.checkpoint}')
    if args.out:
        check_out_file(args.out, args.force)
    if args.show_dir:
        check_show_dir(args.show_dir, args.force)
    check_data(cfg, ['test_dataloader'])
    # The evaluated weights come from the checkpoint, not the pretrained
    # backbone, so a missing ImageNet file does not matter here.
    cfg.model.get('backbone', {}).pop('init_cfg', None)
    cfg.load_from = args.checkpoint
    if args.tta:
        use_tta(cfg, args.config)
    if args.show_dir:
        draw_into(cfg, args.show_dir)
    with ExitStack() as stack:
        stack.enter_context(mmengine_loading(trust=args.trust_checkpoint))
        runner = Runner.from_cfg(cfg)
        if args.out:  # complete once the test is, or absent
            partial = stack.enter_context(atomic_output(args.out))
            runner.test_evaluator.metrics.append(dump_metric(cfg, partial))
        runner.test()


if __name__ == '__main__':
    run_cli(main)
