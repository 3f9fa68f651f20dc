"""The command line of the scripts in ``tools/``: the arguments they share,
reading a config as the command line asks, and turning the problems a user
can fix into one line (exit 1) instead of a traceback.

The library raises ordinary exceptions; this is the one module that knows
about arguments and exit codes.
"""
import gc
import os
import os.path as osp
import sys

import torch
from mmengine.config import DictAction

from mmhirivit.converters.convert import WEIGHTS, ConversionError
from mmhirivit.engine import (CheckpointSaveError, ResumedStateError,
                              read_last_checkpoint)
from mmhirivit.engine.dropin import check_backbone
from mmhirivit.engine.setup import (AMP_DTYPES, SetupError, check_work_dir,
                                    setup_cpu_distributed)
from mmhirivit.utils.checkpoint import CheckpointError
from mmhirivit.utils.config import read_config
from mmhirivit.utils.files import OutputExistsError

DEFAULT_SCOPES = ('mmdet', 'mmseg', 'mmpretrain')
#: What run_cli prints as one line: the library's errors whose message tells
#: the user what to do.
USER_ERRORS = (CheckpointError, ResumedStateError, ConversionError,
               CheckpointSaveError, OutputExistsError, SetupError)


class UsageError(Exception):
    """A problem the user can fix; the tools print it as one line."""


def add_common_args(parser, default_config=None):
    """Arguments the tools share, named as in mmdet's tools."""
    if default_config is None:
        parser.add_argument('config', help='config file')
    else:
        parser.add_argument('config', nargs='?', default=default_config,
                            help=f'config file (default: {default_config})')
    parser.add_argument('--work-dir',
                        help='where logs and checkpoints go (default: '
                        'work_dirs/<config name>)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, key=value pairs, e.g. '
        'model.backbone.init_cfg=None train_cfg.max_epochs=1')
    parser.add_argument('--launcher', default='none',
                        choices=['none', 'pytorch', 'slurm', 'mpi'],
                        help='job launcher (tools/dist_train.sh uses pytorch)')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    add_trust_arg(parser)


def add_conversion_args(parser):
    """What the checkpoint converters share: ``--weights`` and ``--force``."""
    parser.add_argument(
        '--weights', choices=WEIGHTS,
        help='EMA or raw weights (default: EMA when SRC has them)')
    parser.add_argument('--force', action='store_true',
                        help='overwrite the output if it exists (SRC never)')
    add_trust_arg(parser)


def add_trust_arg(parser):
    """``--trust-checkpoint``: load checkpoints with the full unpickler."""
    parser.add_argument(
        '--trust-checkpoint', action='store_true',
        help='load checkpoints that need more than safe loading allows; this '
        'runs whatever the file asks for, so only for files you trust')


def add_amp_arg(parser):
    """``--amp [fp16|bf16]``, as mmdet's tools/train.py ``--amp``."""
    parser.add_argument(
        '--amp', nargs='?', const='fp16', choices=AMP_DTYPES,
        help='mixed precision on a GPU: fp16 with a dynamic loss scale (the '
        'default), or bf16 (Ampere or newer; no loss scale needed)')


def add_compile_arg(parser):
    """``--compile``: compile the backbone
    (:func:`mmhirivit.engine.setup.compile_backbone`)."""
    parser.add_argument(
        '--compile', action='store_true',
        help='compile the backbone\'s forward with torch.compile (the first '
        'steps take longer while it compiles); the heads and the optimizer '
        'stay eager')


def load_config(args):
    """Read ``args.config``, apply the command line, check the config's
    scope and the settings around a HIRI-ViT backbone, and prepare its work
    dir and launcher."""
    try:
        cfg = read_config(args.config)
    except FileNotFoundError:
        raise UsageError(f'config file not found: {args.config}') from None
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    scope = cfg.get('default_scope')
    if scope not in DEFAULT_SCOPES:
        raise UsageError(
            f'{args.config} sets default_scope={scope!r}; it must be one of '
            f'{DEFAULT_SCOPES} so the tools know which codebase runs it '
            f'(inherit an mmdet::, mmseg:: or mmpretrain:: default_runtime).')
    try:
        warnings = check_backbone(cfg)
    except ValueError as err:
        raise UsageError(f'{args.config}: {err}') from None
    for warning in warnings:  # one line each, beside the tools' errors
        print(f'warning: {args.config}: {warning} (dropin_check=False in the '
              f'config or --cfg-options turns this check off)',
              file=sys.stderr)
    cfg.launcher = args.launcher
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join(
            'work_dirs', osp.splitext(osp.basename(args.config))[0])
    check_work_dir(cfg.work_dir)
    if args.launcher != 'none' and not torch.cuda.is_available():
        setup_cpu_distributed(cfg, args.launcher)
    return cfg


def resume_from(cfg):
    """The checkpoint ``--resume`` (no PATH) continues from: the one the
    work dir's ``last_checkpoint`` names, read without trusting it, or None
    (training starts afresh, as MMEngine does)."""
    try:
        return read_last_checkpoint(cfg.work_dir)
    except ValueError as err:
        raise UsageError(f'--resume: {err}') from None


def run_cli(main):
    """Run ``main()``, printing a :class:`UsageError` or one of
    :data:`USER_ERRORS` (a checkpoint that could not be loaded, resumed,
    converted or saved, an output path that is taken, a run that cannot be
    set up) as one line (exit 1)."""
    try:
        main()
    except (UsageError, *USER_ERRORS) as err:
        sys.exit(f'error: {err}')
    finally:
        # A process group torn down at interpreter exit can abort the
        # process ("terminate called without an active exception") after a
        # successful distributed run. The runner's DDP wrapper holds the
        # group and sits in reference cycles, so it is collected first: the
        # group then goes while Python is still alive.
        if torch.distributed.is_initialized():
            gc.collect()
            torch.distributed.destroy_process_group()
