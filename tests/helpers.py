"""Helpers the tests share: toy-scale versions of the shipped configs,
running the tools in-process, and a hook that holds a training process still
so a test can kill it."""
import errno
import glob
import io
import os
import os.path as osp
import re
import runpy
import sys
import time

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.registry import HOOKS

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
#: A test of the CPU-only path, which a visible GPU changes.
CPU_ONLY = pytest.mark.skipif(torch.cuda.is_available(),
                              reason='checks the CPU path; a GPU is visible')


#: The marks of a GPU twin of a CPU_ONLY test: it runs where a CUDA device
#: is visible (``pytest -m gpu`` runs the twins alone).
GPU = [pytest.mark.gpu,
       pytest.mark.skipif(not torch.cuda.is_available(),
                          reason='needs a CUDA device')]


def gpu(test):
    """Mark ``test`` as a GPU twin (:data:`GPU`)."""
    for mark in GPU:
        test = mark(test)
    return test


TOY_SIZE = 128
# mmpretrain's ImageNet recipes warm up for 20 epochs; a toy run has one.
ONE_EPOCH = {'param_scheduler': [dict(type='CosineAnnealingLR', begin=0,
                                      end=1, by_epoch=True)]}


class RunsCode:
    """Unpickling this runs a shell command that creates ``marker``."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return os.system, (f'touch {self.marker}', )


def as_bytes(obj):
    """What ``torch.save`` writes for ``obj``."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


#: How far two training runs from the same state may end apart where a GPU
#: trains them: mmcv's RoIAlign backward and nearest upsampling's backward
#: add with atomics on CUDA, in no fixed order (MMEngine's deterministic=True
#: cannot help: torch has no deterministic CUDA kernel for the latter). Not
#: yet measured on a GPU; on the CPU runs are equal bit for bit.
CUDA_RUN_TOLERANCE = dict(rtol=1e-3, atol=1e-5)


def assert_same_run(first, second, what):
    """Tensors of two runs that must have trained alike: bit-equal on the
    CPU, within :data:`CUDA_RUN_TOLERANCE` where a GPU trained them."""
    if torch.cuda.is_available():
        torch.testing.assert_close(first, second, **CUDA_RUN_TOLERANCE,
                                   msg=what)
    else:
        assert torch.equal(first, second), what


def train_step(model, x, seed=0):
    """One forward and backward in train mode, DropPath drawing from
    ``seed``: the outputs, the parameters' gradients and the BN running
    statistics after it."""
    torch.manual_seed(seed)
    outs = model.train()(x)
    sum(o.sum() for o in outs).backward()
    stats = [b.clone() for name, b in model.named_buffers()
             if 'running' in name]
    return outs, [p.grad for p in model.parameters()
                  if p.requires_grad], stats


def repo_path(*parts):
    return osp.join(ROOT, *parts)


def _set_scales(pipeline, size):
    """Shrink every resize and crop of a pipeline to toy scale."""
    for step in pipeline:
        kind = step['type']
        if kind == 'Resize' and 'scale' in step:  # not the ratio ones
            step['scale'] = (size, size)
        elif kind == 'RandomResize':
            step['scale'] = (size, size) if step.get('ratio_range') else [
                (size, size // 2), (size, size)]
        elif kind == 'RandomChoiceResize':
            step['scales'] = [(size, size)]
        elif kind == 'RandomCrop':
            step['crop_size'] = (size, size)
        elif kind in ('RandomResizedCrop', 'ResizeEdge'):
            step['scale'] = size
        elif kind == 'CenterCrop':
            step['crop_size'] = size
        elif kind in ('TestTimeAug', 'RandomChoice'):
            for views in step['transforms']:
                _set_scales(views, size)


def _zero_score_thresholds(node):
    if isinstance(node, dict):
        if 'score_thr' in node:
            node['score_thr'] = 0.
        for value in node.values():
            _zero_score_thresholds(value)


def toy_config(config, data_root, work_dir, size=TOY_SIZE, iters=1,
               epochs=1, extra=None):
    """``config`` as shipped, with only data paths, scale, length and score
    thresholds changed.

    Iteration-based configs run ``iters`` iterations; epoch-based ones run
    ``epochs`` epochs of ``iters`` iterations of 2 images.

    ``extra`` is merged in last (``Config.merge_from_dict``). Returns the path
    of the dumped config, for ``tools/train.py``.
    """
    cfg = Config.fromfile(repo_path(config))
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg[name]
        loader.num_workers = 0
        loader.persistent_workers = False
        loader.dataset.data_root = str(data_root)
        _set_scales(loader.dataset.pipeline, size)
    if 'tta_pipeline' in cfg:
        _set_scales(cfg.tta_pipeline, size)
    for name in ('val_evaluator', 'test_evaluator'):
        if 'ann_file' in cfg[name]:
            cfg[name].ann_file = osp.join(
                str(data_root), cfg.val_dataloader.dataset.ann_file)
    train_cfg = cfg.train_cfg
    if train_cfg.get('type') == 'IterBasedTrainLoop' or train_cfg.get(
            'by_epoch') is False:
        cfg.train_cfg.max_iters = iters
        cfg.train_cfg.val_interval = iters
    else:
        cfg.train_cfg.max_epochs = epochs
        cfg.train_cfg.val_interval = epochs
        cfg.train_dataloader.dataset.indices = 2 * iters
    data_pre = cfg.model.get('data_preprocessor') or {}
    if data_pre.get('size') is not None:
        data_pre.size = (size, size)
    test_cfg = cfg.model.get('test_cfg') or {}
    if test_cfg.get('mode') == 'slide':
        test_cfg.crop_size = (size, size)
        test_cfg.stride = (size * 2 // 3, size * 2 // 3)
    # After a single iteration every detection scores below mmdet's usual
    # 0.05 threshold; keep them so pycocotools has results to evaluate.
    _zero_score_thresholds(cfg.model.get('test_cfg'))
    cfg.model.backbone.init_cfg = None
    cfg.default_hooks.logger.interval = 1
    cfg.work_dir = str(work_dir)
    cfg.merge_from_dict(extra or {})
    os.makedirs(str(work_dir), exist_ok=True)
    path = osp.join(str(work_dir), 'toy_' + osp.basename(config))
    cfg.dump(path)
    return path


def run_tool(tool, *args):
    """Run ``tools/<tool>`` in this process, as its command line would."""
    argv = sys.argv
    sys.argv = [repo_path('tools', tool)] + [str(a) for a in args]
    try:
        runpy.run_path(sys.argv[0], run_name='__main__')
    finally:
        sys.argv = argv


def error_line(capsys, tool, *args):
    """Run ``tool``, which must end with one ``error: ...`` line and no
    traceback; return that line."""
    with pytest.raises(SystemExit) as info:
        run_tool(tool, *args)
    message = str(info.value.code)
    assert message.startswith('error: ') and '\n' not in message
    err = capsys.readouterr().err
    assert "Traceback" not in err, err[-3000:]
    return message


def last_val_metrics(work_dir):
    """The metrics of the last validation or test in ``work_dir``'s run log.

    Read from the log, the one output that is per run when several runs share
    a process (mmdet's visualizer is a named singleton).
    """
    [log] = glob.glob(osp.join(str(work_dir), '*', '*.log'))
    with open(log) as f:
        lines = [line for line in f
                 if re.search(r'(Epoch|Iter)\((val|test)\)', line)]
    return {
        key: float(value)
        for key, value in re.findall(r'(\S+): (-?[\d.]+)', lines[-1])
    }


@HOOKS.register_module(force=True)
class StallAfterIter(Hook):
    """Once iteration ``at`` and its checkpoint are done, create the file
    ``marker`` and wait there, for a test to kill the process.

    A config loads it with ``custom_imports=dict(imports=['helpers'])`` and
    ``tests/`` on ``PYTHONPATH``.
    """

    priority = 'LOWEST'  # after CheckpointHook

    def __init__(self, at, marker):
        self.at = at
        self.marker = marker

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        if runner.iter + 1 == self.at:
            open(self.marker, 'w').close()
            time.sleep(3600)


@HOOKS.register_module(force=True)
class FullDiskAt(Hook):
    """Fail the checkpoint of iteration ``at`` as a full disk would (ENOSPC,
    while it is being written).

    A config loads it as :class:`StallAfterIter` does.
    """

    def __init__(self, at):
        self.at = at

    def before_save_checkpoint(self, runner, checkpoint):
        if checkpoint['meta']['iter'] == self.at:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
