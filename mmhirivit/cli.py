"""What the command-line tools in ``tools/`` share: their common arguments,
loading a config, checking that what it needs is on disk, and turning
problems into one clear line instead of a traceback.

The rest of the package raises ordinary exceptions; this module is the one
place that knows about the command line.
"""
import os
import os.path as osp
import sys
import tempfile

import torch
from mmengine.config import DictAction
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from mmhirivit.engine import (CheckpointSaveError, ResumedStateError,
                              read_last_checkpoint)
from mmhirivit.tools.configs import read_config
from mmhirivit.tools.convert import WEIGHTS, ConversionError
from mmhirivit.tools.dropin import check_backbone
from mmhirivit.utils.checkpoint import CheckpointError
from mmhirivit.utils.files import OutputExistsError

README_DATA = "README.md, section 'Data preparation'"
README_PRETRAIN = ("README.md, section 'From ImageNet pretraining to "
                   "COCO/ADE20K'")
DEFAULT_SCOPES = ('mmdet', 'mmseg', 'mmpretrain')
AMP_DTYPES = ('fp16', 'bf16')
SYNC_BNS = ('SyncBN', 'MMSyncBN')


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


def load_config(args):
    """Read ``args.config``, apply the command line and check its scope."""
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
    _check_writable(cfg.work_dir)
    if args.launcher != 'none' and not torch.cuda.is_available():
        _init_cpu_distributed(args.launcher)
        if _local_batch_norms(cfg.model):
            print_log('SyncBN has no CPU kernel: on CPU every process '
                      'normalises with its own batch statistics (BN)',
                      logger='current')
        # mmengine's DDP wrapper pins device_ids to the local rank's GPU
        # unless they are given; with device_ids=None DDP runs on CPU.
        cfg.setdefault(
            'model_wrapper_cfg',
            dict(type='MMDistributedDataParallel', device_ids=None,
                 broadcast_buffers=False,
                 find_unused_parameters=cfg.get('find_unused_parameters',
                                                False)))
    return cfg


def _local_batch_norms(node):
    """Turn every SyncBN config within ``node`` into BN; return how many."""
    if isinstance(node, dict):
        count = int(node.get('type') in SYNC_BNS)
        if count:
            node['type'] = 'BN'
        return count + sum(_local_batch_norms(v) for v in node.values())
    if isinstance(node, (list, tuple)):
        return sum(_local_batch_norms(child) for child in node)
    return 0


def add_amp_arg(parser):
    """``--amp [fp16|bf16]``, as mmdet's tools/train.py ``--amp``."""
    parser.add_argument(
        '--amp', nargs='?', const='fp16', choices=AMP_DTYPES,
        help='mixed precision on a GPU: fp16 with a dynamic loss scale (the '
        'default), or bf16 (Ampere or newer; no loss scale needed)')


def enable_amp(cfg, dtype):
    """Train ``cfg`` with MMEngine's ``AmpOptimWrapper`` in ``dtype``
    (``'fp16'`` or ``'bf16'``), or check that the GPU it needs is there when
    ``dtype`` is None and the config asks for it itself."""
    wrapper = cfg.optim_wrapper
    if dtype is not None:
        wrapper.type = 'AmpOptimWrapper'
        if dtype == 'bf16':
            wrapper.dtype = 'bfloat16'
        else:
            wrapper.loss_scale = 'dynamic'
    if wrapper.get('type') != 'AmpOptimWrapper':
        return
    if not torch.cuda.is_available():
        raise UsageError(
            'mixed precision (--amp, AmpOptimWrapper) needs a GPU: MMEngine '
            'runs it on CUDA devices only, and none is visible here; train '
            'in fp32 without --amp')
    if wrapper.get('dtype') in ('bfloat16', torch.bfloat16) and not (
            torch.cuda.is_bf16_supported()):
        raise UsageError(f'--amp bf16 needs a GPU with bfloat16 (Ampere or '
                         f'newer), not {torch.cuda.get_device_name()}; use '
                         f'--amp fp16')


def add_compile_arg(parser):
    """``--compile``: compile the backbone (see :func:`compile_backbone`)."""
    parser.add_argument(
        '--compile', action='store_true',
        help='compile the backbone\'s forward with torch.compile (the first '
        'steps take longer while it compiles); the heads and the optimizer '
        'stay eager')


def compile_backbone(model):
    """``torch.compile`` the backbone of ``model`` (unwrapped from DDP) in
    place, so parameter names and checkpoints stay as they are.

    Only the backbone: its shapes are fixed by the input size, while the
    detection heads' depend on the data. MMEngine's own ``compile=True``
    compiles the whole training step, which with torch 2.14.1 fails inside
    AdamW's ``step`` (Dynamo: ``'UserDefinedDictVariable' object has no
    attribute 'items'``).
    """
    if is_model_wrapper(model):
        model = model.module
    model.backbone.compile()


def _check_writable(work_dir):
    """Raise :class:`UsageError` unless ``work_dir`` can be created and
    written to."""
    if '://' in work_dir:
        return
    try:
        os.makedirs(work_dir, exist_ok=True)
        with tempfile.TemporaryFile(dir=work_dir):
            pass
    except OSError as err:
        raise UsageError(f'work dir {work_dir} is not writable: '
                         f'{err.strerror or err}; choose another with '
                         f'--work-dir') from None


def _init_cpu_distributed(launcher):
    """Start a gloo process group for a CPU-only distributed run.

    mmengine's launcher always calls ``torch.cuda.set_device`` and defaults
    to NCCL; its Runner skips that when a process group already exists.
    """
    if launcher != 'pytorch':
        raise UsageError(f'--launcher {launcher} needs GPUs; on CPU use '
                         f'tools/dist_train.sh (--launcher pytorch)')
    if not torch.distributed.is_initialized():
        torch.distributed.init_process_group(backend='gloo')


def _datasets(dataset_cfg):
    """The leaf dataset configs of a (possibly wrapped) dataset config."""
    if 'datasets' in dataset_cfg:
        for sub in dataset_cfg.datasets:
            yield from _datasets(sub)
    elif 'dataset' in dataset_cfg:
        yield from _datasets(dataset_cfg.dataset)
    else:
        yield dataset_cfg


def check_data(cfg, dataloaders):
    """Raise :class:`UsageError` naming the first missing data path."""
    for loader in dataloaders:
        if cfg.get(loader) is None:
            continue
        for ds in _datasets(cfg[loader].dataset):
            root = ds.get('data_root') or ''
            if root and not osp.isdir(root):
                raise UsageError(
                    f'dataset folder {root} not found (needed by {loader}); '
                    f'see {README_DATA}, or make toy data with '
                    f'tools/misc/make_toy_data.py')
            ann_file = ds.get('ann_file')
            if ann_file and not osp.isfile(osp.join(root, ann_file)):
                raise UsageError(
                    f'annotation file {osp.join(root, ann_file)} not found '
                    f'(needed by {loader}); see {README_DATA}')


def missing_local(path):
    """Whether ``path`` names a local file (``~`` expanded) that is not
    there; URLs and empty values are not local files."""
    return bool(path) and '://' not in path and not osp.isfile(
        osp.expanduser(path))


def resume_from(cfg):
    """The checkpoint ``--resume`` (no PATH) continues from: the one the
    work dir's ``last_checkpoint`` names, read without trusting it, or None
    (training starts afresh, as MMEngine does)."""
    try:
        return read_last_checkpoint(cfg.work_dir)
    except ValueError as err:
        raise UsageError(f'--resume: {err}') from None


def check_pretrained(cfg):
    """Raise :class:`UsageError` if the backbone's pretrained checkpoint or
    ``load_from`` is a local path that does not exist."""
    init_cfg = cfg.model.get('backbone', {}).get('init_cfg')
    if init_cfg and init_cfg.get('type') == 'Pretrained' and missing_local(
            init_cfg.get('checkpoint', '')):
        raise UsageError(
            f'pretrained backbone checkpoint {init_cfg.checkpoint} not '
            f'found: convert an ImageNet-pretraining checkpoint there with '
            f'tools/model_converters/hirivit_to_backbone.py '
            f'({README_PRETRAIN}), or train from scratch with '
            f'--cfg-options model.backbone.init_cfg=None')
    if missing_local(cfg.get('load_from')):
        raise UsageError(
            f'load_from checkpoint {cfg.load_from} not found: train it first '
            f'({README_PRETRAIN}), or start from scratch with '
            f'--cfg-options load_from=None')


def run_cli(main):
    """Run ``main()``, printing a :class:`UsageError`, a checkpoint that
    could not be loaded (missing, refused, damaged) or resumed, a failed
    conversion, an output path that is taken or a checkpoint that could not
    be saved as one line (exit 1)."""
    try:
        main()
    except (UsageError, CheckpointError, ResumedStateError, ConversionError,
            CheckpointSaveError, OutputExistsError) as err:
        sys.exit(f'error: {err}')
    finally:
        # A process group left to interpreter exit can abort the process
        # ("terminate called without an active exception") after a
        # successful distributed run.
        if torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
