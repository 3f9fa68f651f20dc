"""The README's main job: train Mask R-CNN + HIRI-ViT-T on the toy COCO data
on CPU, evaluate it with COCO metrics, and draw its predictions.

Steps: write the toy data to ``data/toy`` unless it is there, train
``configs/maskrcnn_hirivit_t_demo_toy.py`` (validation at the end), draw
masks and boxes on a few validation images with mmdet's ``DetInferencer``,
and print the bbox/segm mAP and where everything is.

Example::

    python tools/demo.py                       # the full demo
    python tools/demo.py --cfg-options train_cfg.max_iters=20  # a smoke run
    python tools/demo.py configs/maskrcnn_r18_demo_toy.py      # the reference
    python tools/demo.py --cfg-options model.backbone.frozen_stages=5 \
        --work-dir work_dirs/maskrcnn_hirivit_t_demo_toy_frozen  # control
"""
import argparse
import glob
import os
import os.path as osp
import time

import mmhirivit  # noqa: F401  (registers the models)
from mmhirivit.cli import UsageError, add_common_args, load_config, run_cli
from mmhirivit.datasets import toy_data
from mmhirivit.engine import build_runner
from mmhirivit.engine.setup import check_data
from mmhirivit.utils.checkpoint import mmengine_loading

CONFIG = 'configs/maskrcnn_hirivit_t_demo_toy.py'
TOY = dict(num_train=400, num_val=50, size=256, seed=0)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    add_common_args(parser, default_config=CONFIG)
    parser.add_argument('--num-images', type=int, default=4,
                        help='validation images to draw predictions on')
    return parser.parse_args()


def ensure_toy_data(data_root):
    """Write the toy COCO set unless a complete one is there already."""
    ann = osp.join(data_root, 'annotations', 'instances_val2017.json')
    if osp.isfile(ann):
        print(f'using the toy data in {data_root}')
        return
    if osp.exists(data_root) and os.listdir(data_root):
        raise UsageError(f'{data_root} exists but holds no toy data; move it '
                         f'away or point --cfg-options data_root elsewhere')
    print(f'writing toy COCO data to {data_root}')
    toy_data.write_coco(data_root, **TOY)


def draw_predictions(cfg_path, checkpoint, images, out_dir):
    from mmdet.apis import DetInferencer
    inferencer = DetInferencer(model=cfg_path, weights=checkpoint,
                               device='cpu')
    inferencer(images, out_dir=out_dir, pred_score_thr=0.3, no_save_pred=True)
    return osp.join(out_dir, 'vis')


def describe(cfg):
    """The trained model in words, e.g. ``MaskRCNN + HIRI-ViT-T (stem and
    stages 1-5 frozen)`` or ``MaskRCNN + ResNet-18``."""
    backbone = cfg.model.backbone
    if backbone.type.endswith('HIRIViT'):
        arch = backbone.arch
        name = f'HIRI-ViT-{arch.upper() if isinstance(arch, str) else arch}'
    else:
        name = f'{backbone.type}-{backbone.depth}' if 'depth' in backbone \
            else backbone.type
    frozen = backbone.get('frozen_stages', -1)
    if frozen >= 0:
        name += f' (stem and stages 1-{frozen} frozen)' if frozen \
            else ' (stem frozen)'
    return f'{cfg.model.type} + {name}'


def run_demo(args):
    cfg = load_config(args)
    data_root = cfg.train_dataloader.dataset.data_root
    ensure_toy_data(data_root)
    check_data(cfg, ['train_dataloader', 'val_dataloader'])

    runner = build_runner(cfg)
    start = time.monotonic()
    runner.train()
    minutes, seconds = divmod(round(time.monotonic() - start), 60)
    hub = runner.message_hub
    metrics = {
        name: hub.get_scalar(f'val/coco/{name}_mAP').current()
        for name in ('bbox', 'segm')
    }
    with open(osp.join(cfg.work_dir, 'last_checkpoint')) as f:
        checkpoint = f.read().strip()  # CheckpointHook saves the last iter
    config_path = osp.join(cfg.work_dir, osp.basename(args.config))
    cfg.dump(config_path)

    images = sorted(glob.glob(osp.join(data_root, 'val2017', '*.jpg')))
    vis_dir = draw_predictions(config_path, checkpoint,
                               images[:args.num_images],
                               osp.join(cfg.work_dir, 'predictions'))
    print('\n' + '=' * 60)
    print(f'{describe(cfg)} on toy COCO ({TOY["num_val"]} val images)')
    print(f'  bbox mAP: {metrics["bbox"]:.3f}')
    print(f'  segm mAP: {metrics["segm"]:.3f}')
    print(f'  training + evaluation: {minutes} min {seconds:02d} s')
    print(f'  predictions drawn: {vis_dir}')
    print(f'  logs:              {runner.log_dir}')
    print(f'  checkpoint:        {checkpoint}')
    print(f'  config:            {config_path}')


def main():
    args = parse_args()
    with mmengine_loading(trust=args.trust_checkpoint):
        run_demo(args)


if __name__ == '__main__':
    run_cli(main)
