"""Write the toy datasets (COCO, ADE20K, ImageNet layouts) that demos and
tests use in place of the real ones. Same arguments, same bytes.

Example::

    python tools/misc/make_toy_data.py data/toy --num-train 400 --size 256

writes ``data/toy/coco``, ``data/toy/ade/ADEChallengeData2016`` and
``data/toy/imagenet``, laid out as ``data/coco`` etc. are for real data.
"""
import argparse
import os.path as osp

from mmhirivit.datasets import toy_data

WRITERS = dict(
    coco=(toy_data.write_coco, 'coco'),
    ade=(toy_data.write_ade, osp.join('ade', 'ADEChallengeData2016')),
    imagenet=(toy_data.write_imagenet, 'imagenet'))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('out', nargs='?', default='data/toy',
                        help='output folder (default: data/toy)')
    parser.add_argument('--kinds', nargs='+', choices=sorted(WRITERS),
                        default=sorted(WRITERS), help='datasets to write')
    parser.add_argument('--num-train', type=int, default=40)
    parser.add_argument('--num-val', type=int, default=10)
    parser.add_argument('--size', type=int, default=256,
                        help='image side in pixels')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    for kind in args.kinds:
        writer, sub = WRITERS[kind]
        root = osp.join(args.out, sub)
        writer(root, num_train=args.num_train, num_val=args.num_val,
               size=args.size, seed=args.seed)
        print(f'{kind}: {args.num_train} train + {args.num_val} val images '
              f'of {args.size}x{args.size} in {root}')


if __name__ == '__main__':
    main()
