"""Setting a run up from a config before the Runner starts: the data and
checkpoints it needs on disk, its work dir, mixed precision, a compiled
backbone, and distributed training on CPUs. Problems a user can fix raise
:class:`SetupError`, whose message says what to do."""
import os
import os.path as osp
import tempfile

import torch
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from mmhirivit.datasets import fashion_mnist

README_DATA = "README.md, section 'Data preparation'"
README_PRETRAIN = ("README.md, section 'From ImageNet pretraining to "
                   "COCO/ADE20K'")
AMP_DTYPES = ('fp16', 'bf16')
SYNC_BNS = ('SyncBN', 'MMSyncBN')


class SetupError(ValueError):
    """A run this machine or its config cannot start as asked; the message
    says what to change."""


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
    """Raise :class:`SetupError` naming the first missing data path of the
    named dataloaders of ``cfg``."""
    for loader in dataloaders:
        if cfg.get(loader) is None:
            continue
        for ds in _datasets(cfg[loader].dataset):
            root = ds.get('data_root') or ''
            if ds.get('type') == 'FashionMNIST':
                missing = fashion_mnist.missing_files(root)
                if missing:
                    raise SetupError(
                        f'Fashion-MNIST not found in {root} (no '
                        f'{missing[0]}; needed by {loader}): '
                        f'{fashion_mnist.HOW_TO_GET}')
                continue
            if root and not osp.isdir(root):
                raise SetupError(
                    f'dataset folder {root} not found (needed by {loader}); '
                    f'see {README_DATA}, or make toy data with '
                    f'tools/misc/make_toy_data.py')
            ann_file = ds.get('ann_file')
            if ann_file and not osp.isfile(osp.join(root, ann_file)):
                raise SetupError(
                    f'annotation file {osp.join(root, ann_file)} not found '
                    f'(needed by {loader}); see {README_DATA}')


def missing_local(path):
    """Whether ``path`` names a local file (``~`` expanded) that is not
    there; URLs and empty values are not local files."""
    return bool(path) and '://' not in path and not osp.isfile(
        osp.expanduser(path))


def check_pretrained(cfg):
    """Raise :class:`SetupError` if the backbone's pretrained checkpoint or
    ``load_from`` is a local path that does not exist."""
    init_cfg = cfg.model.get('backbone', {}).get('init_cfg')
    if init_cfg and init_cfg.get('type') == 'Pretrained' and missing_local(
            init_cfg.get('checkpoint', '')):
        raise SetupError(
            f'pretrained backbone checkpoint {init_cfg.checkpoint} not '
            f'found: convert an ImageNet-pretraining checkpoint there with '
            f'tools/model_converters/hirivit_to_backbone.py '
            f'({README_PRETRAIN}), or train from scratch with '
            f'--cfg-options model.backbone.init_cfg=None')
    if missing_local(cfg.get('load_from')):
        raise SetupError(
            f'load_from checkpoint {cfg.load_from} not found: train it first '
            f'({README_PRETRAIN}), or start from scratch with '
            f'--cfg-options load_from=None')


def check_work_dir(work_dir):
    """Raise :class:`SetupError` unless ``work_dir`` can be created and
    written to."""
    if '://' in work_dir:
        return
    try:
        os.makedirs(work_dir, exist_ok=True)
        with tempfile.TemporaryFile(dir=work_dir):
            pass
    except OSError as err:
        raise SetupError(f'work dir {work_dir} is not writable: '
                         f'{err.strerror or err}; choose another with '
                         f'--work-dir') from None


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
        raise SetupError(
            'mixed precision (--amp, AmpOptimWrapper) needs a GPU: MMEngine '
            'runs it on CUDA devices only, and none is visible here; train '
            'in fp32 without --amp')
    if wrapper.get('dtype') in ('bfloat16', torch.bfloat16) and not (
            torch.cuda.is_bf16_supported()):
        raise SetupError(f'--amp bf16 needs a GPU with bfloat16 (Ampere or '
                         f'newer), not {torch.cuda.get_device_name()}; use '
                         f'--amp fp16')


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


def local_batch_norms(node):
    """Turn every SyncBN config within ``node`` into BN; return how many."""
    if isinstance(node, dict):
        count = int(node.get('type') in SYNC_BNS)
        if count:
            node['type'] = 'BN'
        return count + sum(local_batch_norms(v) for v in node.values())
    if isinstance(node, (list, tuple)):
        return sum(local_batch_norms(child) for child in node)
    return 0


def setup_cpu_distributed(cfg, launcher):
    """Prepare ``cfg`` for a distributed run on CPUs: a gloo process group
    (MMEngine's launcher always calls ``torch.cuda.set_device`` and defaults
    to NCCL; its Runner skips that when a group exists), per-process BN
    instead of SyncBN (which has no CPU kernel), and DDP without device ids,
    or FSDP (``FlexibleRunner`` with ``FSDPStrategy``) on the CPU device."""
    if launcher != 'pytorch':
        raise SetupError(f'--launcher {launcher} needs GPUs; on CPU use '
                         f'tools/dist_train.sh (--launcher pytorch)')
    if not torch.distributed.is_initialized():
        torch.distributed.init_process_group(backend='gloo')
    if local_batch_norms(cfg.model):
        print_log('SyncBN has no CPU kernel: on CPU every process '
                  'normalises with its own batch statistics (BN)',
                  logger='current')
    if cfg.get('runner_type') == 'FlexibleRunner':
        # MMEngine's FSDPStrategy gives FSDP the local rank as a GPU index:
        # the CPU needs a wrapper of its own (mmhirivit.engine.fsdp).
        strategy = cfg.get('strategy') or {}
        if strategy.get('type') == 'FSDPStrategy':
            wrapper = strategy.setdefault('model_wrapper', {})
            if wrapper.get('type', 'MMFullyShardedDataParallel') != \
                    'MMFullyShardedDataParallel':
                raise SetupError(
                    f'strategy.model_wrapper.type={wrapper["type"]!r} on '
                    f'CPUs: the tools run FSDP on CPUs with their own '
                    f'mmhirivit.CPUFullyShardedDataParallel in place of '
                    f'MMEngine\'s wrapper, and know of no other')
            wrapper['type'] = 'mmhirivit.CPUFullyShardedDataParallel'
        return
    # mmengine's DDP wrapper pins device_ids to the local rank's GPU unless
    # they are given; with device_ids=None DDP runs on CPU.
    cfg.setdefault(
        'model_wrapper_cfg',
        dict(type='MMDistributedDataParallel', device_ids=None,
             broadcast_buffers=False,
             find_unused_parameters=cfg.get('find_unused_parameters', False)))
