"""Fashion-MNIST (Xiao, Rasul, Vollgraf 2017; Zalando SE, MIT licence) in the
layout mmpretrain's ``FashionMNIST`` reads: the four IDX files, unzipped, in
one folder. Debian's package ``dataset-fashion-mnist`` installs them gzipped
in :data:`DEBIAN_FOLDER`."""
import gzip
import os
import os.path as osp

from mmhirivit.utils.files import write_atomically

DEBIAN_PACKAGE = 'dataset-fashion-mnist'
DEBIAN_FOLDER = '/usr/share/datasets/fashion-mnist'
#: The files per split: (images, labels), as mmpretrain names them.
FILES = {
    'train': ('train-images-idx3-ubyte', 'train-labels-idx1-ubyte'),
    'test': ('t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'),
}
# IDX headers: magic number, then the count and, for images, rows and
# columns, each a big-endian int32.
IMAGE_MAGIC, LABEL_MAGIC = 2051, 2049
HOW_TO_GET = (f'run `make data` (it installs Debian\'s {DEBIAN_PACKAGE} and '
              f'unzips it there), see README.md, section "Real images"')


def missing_files(root):
    """The Fashion-MNIST files mmpretrain needs that ``root`` lacks."""
    return [name for pair in FILES.values() for name in pair
            if not osp.isfile(osp.join(root, name))]


def _subset(data, magic, count):
    """The IDX file ``data`` cut to its first ``count`` items (all with
    None); ValueError unless it is an IDX file of the ``magic`` kind."""
    header = 16 if magic == IMAGE_MAGIC else 8
    fields = [int.from_bytes(data[i:i + 4], 'big')
              for i in range(0, header, 4)]
    if len(data) < header or fields[0] != magic:
        kind = 'images' if magic == IMAGE_MAGIC else 'labels'
        raise ValueError(f'not an IDX file of {kind} (magic {fields[0]})')
    total = fields[1]
    item = 1 if magic == LABEL_MAGIC else fields[2] * fields[3]
    if len(data) != header + total * item:
        raise ValueError(f'{len(data)} bytes, not the {header + total * item} '
                         f'its header announces')
    count = total if count is None else min(count, total)
    return (data[:4] + count.to_bytes(4, 'big') + data[8:header] +
            data[header:header + count * item]), count


def write_fashion_mnist(src, dst, subset=None):
    """Unzip the four files of ``src`` into ``dst``, with only the first
    ``subset = (train, test)`` photographs if given.

    An existing file in ``dst`` is kept when identical; a different one
    raises ``FileExistsError`` (nothing of a user's is replaced).

    Returns:
        dict: The photographs written per split.
    """
    counts = {}
    os.makedirs(dst, exist_ok=True)
    for index, (split, names) in enumerate(FILES.items()):
        limit = subset[index] if subset else None
        for name, magic in zip(names, (IMAGE_MAGIC, LABEL_MAGIC)):
            path = osp.join(src, name + '.gz')
            with gzip.open(path, 'rb') as f:
                try:
                    data, counts[split] = _subset(f.read(), magic, limit)
                except ValueError as err:
                    raise ValueError(f'{path}: {err}') from None
            out = osp.join(dst, name)
            if osp.lexists(out):
                with open(out, 'rb') as f:
                    if f.read() == data:
                        continue
                raise FileExistsError(f'{out} exists and differs; move it '
                                      f'away first')
            write_atomically(data, out)
    return counts
