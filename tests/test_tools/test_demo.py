"""The main job's code path (tools/demo.py) with a very short schedule, and
the ResNet-18 config it is compared with."""
from helpers import last_val_metrics, run_tool, toy_config


def test_demo_trains_evaluates_and_draws(toy_root, tmp_path, capsys):
    data = toy_root / 'coco'
    loaders = ('train_dataloader', 'val_dataloader', 'test_dataloader')
    run_tool(
        'demo.py', '--work-dir', tmp_path, '--num-images', 1,
        '--cfg-options', *[f'{n}.dataset.data_root={data}/' for n in loaders],
        f'val_evaluator.ann_file={data}/annotations/instances_val2017.json',
        'train_cfg.max_iters=2', 'train_cfg.val_interval=2',
        'train_dataloader.batch_size=2')
    out = capsys.readouterr().out
    assert 'bbox mAP:' in out and 'segm mAP:' in out
    assert len(list((tmp_path / 'predictions' / 'vis').glob('*.jpg'))) == 1
    assert (tmp_path / 'iter_2.pth').is_file()


def test_resnet18_comparison_trains_and_evaluates(toy_root, tmp_path):
    config = toy_config('configs/maskrcnn_r18_demo_toy.py', toy_root / 'coco',
                        tmp_path)
    run_tool('train.py', config)
    metrics = last_val_metrics(tmp_path)
    assert {'coco/bbox_mAP', 'coco/segm_mAP'} <= set(metrics)
