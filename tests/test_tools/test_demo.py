"""The main job's code path (tools/demo.py) with a very short schedule, what
makes two runs of it give the same figures, the ResNet-18 config it is
compared with, the learning rates of both, and the step timer its README
figures come from."""
import contextlib
import io

import pytest
from helpers import (assert_same_run, error_line, last_val_metrics, repo_path,
                     run_tool, toy_config)
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper

from mmhirivit.analysis.builders import build_from_config
from mmhirivit.utils.checkpoint import load_checkpoint_file

DEMO = 'configs/maskrcnn_hirivit_t_demo_toy.py'


def _run_demo(toy_root, work_dir):
    """tools/demo.py as shipped (seed 0, one loading worker, a shuffling
    sampler) on the test's toy data, 2 iterations; what it printed."""
    data = toy_root / 'coco'
    loaders = ('train_dataloader', 'val_dataloader', 'test_dataloader')
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        run_tool(
            'demo.py', '--work-dir', work_dir, '--num-images', 1,
            '--cfg-options',
            *[f'{n}.dataset.data_root={data}/' for n in loaders],
            f'val_evaluator.ann_file={data}/annotations/'
            f'instances_val2017.json', 'train_cfg.max_iters=2',
            'train_cfg.val_interval=2', 'train_dataloader.batch_size=2')
    return out.getvalue()


@pytest.fixture(scope='module')
def demo_run(toy_root, tmp_path_factory):
    """One short demo run: its work dir and what it printed."""
    work_dir = tmp_path_factory.mktemp('demo')
    return work_dir, _run_demo(toy_root, work_dir)


def test_demo_trains_evaluates_and_draws(demo_run):
    work_dir, out = demo_run
    assert 'MaskRCNN + HIRI-ViT-T on toy COCO' in out
    assert 'bbox mAP:' in out and 'segm mAP:' in out
    assert 'training + evaluation:' in out
    assert len(list((work_dir / 'predictions' / 'vis').glob('*.jpg'))) == 1
    assert (work_dir / 'iter_2.pth').is_file()


def test_two_demo_runs_train_the_same_weights(demo_run, toy_root, tmp_path):
    """Seed 0 and the shipped data loading (a shuffling sampler, one worker
    process with its own augmentation draws): two runs end with identical
    weights, so the demo prints the same mAP every time (on a GPU, close
    weights: helpers.CUDA_RUN_TOLERANCE)."""
    cfg = Config.fromfile(repo_path(DEMO))
    assert cfg.randomness.seed == 0
    assert cfg.train_dataloader.sampler.shuffle
    assert cfg.train_dataloader.num_workers == 1
    _run_demo(toy_root, tmp_path)
    first, second = (load_checkpoint_file(str(work_dir / 'iter_2.pth'))[
        'state_dict'] for work_dir in (demo_run[0], tmp_path))
    assert first.keys() == second.keys()
    for name, tensor in first.items():
        assert_same_run(tensor, second[name], name)


def test_resnet18_comparison_trains_and_evaluates(toy_root, tmp_path):
    config = toy_config('configs/maskrcnn_r18_demo_toy.py', toy_root / 'coco',
                        tmp_path)
    run_tool('train.py', config)
    metrics = last_val_metrics(tmp_path)
    assert {'coco/bbox_mAP', 'coco/segm_mAP'} <= set(metrics)


@pytest.mark.parametrize('config, box_head_lr', [
    (DEMO, 2e-4),  # the demo: a quarter of the rate for the RoI box head
    ('configs/maskrcnn_r18_demo_toy.py', 4e-4),  # the reference: one rate
])
def test_demo_learning_rates(config, box_head_lr):
    cfg = Config.fromfile(repo_path(config))
    model = build_from_config(cfg)
    optimizer = build_optim_wrapper(model, cfg.optim_wrapper).optimizer
    box_head = {id(p) for p in model.roi_head.bbox_head.parameters()}
    rates = {'box head': set(), 'rest': set()}
    for group in optimizer.param_groups:
        for param in group['params']:
            part = 'box head' if id(param) in box_head else 'rest'
            rates[part].add(group['lr'])
    assert [len(rates['box head']), len(rates['rest'])] == [1, 1]
    assert rates['box head'].pop() == pytest.approx(box_head_lr)
    assert rates['rest'].pop() == pytest.approx(cfg.optim_wrapper.optimizer.lr)


def test_step_timer_prints_step_and_parts(toy_root, tmp_path, capsys):
    config = toy_config(DEMO, toy_root / 'coco', tmp_path)
    run_tool('analysis_tools/train_step_time.py', config, '--steps', 1,
             '--warmup', 1, '--profile')
    out = capsys.readouterr().out
    assert 'step (forward, backward, update): median' in out
    parts = [line.split()[2] for line in out.splitlines()
             if line.strip().startswith('forward of')]
    # mmdet's RoI head has no forward of its own: its parts are reported.
    assert {'backbone', 'neck', 'rpn_head', 'roi_head.bbox_head',
            'roi_head.mask_head'} <= set(parts)
    assert 'roi_head' not in parts
    # The profiler's table follows; which operators top it depends on the
    # machine, so only its columns are checked.
    assert 'Self CPU time total' in out and 'Input Shapes' in out


def test_step_timer_refuses_no_steps(capsys):
    message = error_line(capsys, 'analysis_tools/train_step_time.py', DEMO,
                         '--steps', 0)
    assert '--steps must be >= 1' in message and 'got 0' in message
