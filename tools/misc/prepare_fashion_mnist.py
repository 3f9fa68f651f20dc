"""Put Fashion-MNIST where the configs read it (``data/fashion_mnist``).

The four files come from Debian's package ``dataset-fashion-mnist``
(``apt-get install dataset-fashion-mnist``; ``make data`` does it), which
installs them gzipped in ``/usr/share/datasets/fashion-mnist``; mmpretrain's
``FashionMNIST`` reads them unzipped. ``--subset N M`` writes the first N
training and M test photographs only (how ``tests/data/fashion_mnist`` was
made)::

    python tools/misc/prepare_fashion_mnist.py data/fashion_mnist
    python tools/misc/prepare_fashion_mnist.py tests/data/fashion_mnist \\
        --subset 600 200

Existing files are kept when they are identical and refused otherwise.
"""
import argparse
import gzip
import os.path as osp

from mmhirivit.cli import UsageError, run_cli
from mmhirivit.datasets.fashion_mnist import (DEBIAN_FOLDER, DEBIAN_PACKAGE,
                                              write_fashion_mnist)


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split('\n\n', 1)[1])
    parser.add_argument('dst', help='folder to write the four files to')
    parser.add_argument('--src', default=DEBIAN_FOLDER,
                        help=f'folder of the gzipped files (default: where '
                        f'{DEBIAN_PACKAGE} installs them)')
    parser.add_argument('--subset', type=int, nargs=2, metavar=('TRAIN',
                                                                'TEST'),
                        help='write only the first TRAIN training and TEST '
                        'test photographs')
    return parser.parse_args()


def main():
    args = parse_args()
    if not osp.isdir(args.src):
        raise UsageError(f'{args.src} not found: install the Debian package '
                         f'with `apt-get install {DEBIAN_PACKAGE}` (or '
                         f'`make data`), or pass --src')
    try:
        counts = write_fashion_mnist(args.src, args.dst, args.subset)
    except (OSError, ValueError, gzip.BadGzipFile) as err:
        raise UsageError(str(err)) from None
    print(f'wrote Fashion-MNIST to {args.dst}: {counts["train"]} training '
          f'and {counts["test"]} test photographs')


if __name__ == '__main__':
    run_cli(main)
