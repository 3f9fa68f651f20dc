"""Writing output files so that no file a user gave is lost: a file is
complete or absent, an existing file or a symlink is replaced only when
asked, and nothing is written through a symlink."""
import errno
import os
import os.path as osp
import uuid
from contextlib import contextmanager


class OutputExistsError(FileExistsError):
    """The output path is taken (a file, a folder or a symlink); the message
    says what to do."""


def check_output(path, force=False, flag='--force'):
    """Raise :class:`OutputExistsError` if ``path`` is a symlink (dangling
    or not) or exists, unless ``force``; a folder is refused even then.

    With ``force`` the writers below replace the file or the symlink itself,
    never what a symlink points to.
    """
    if osp.islink(path):
        if not force:
            raise OutputExistsError(
                f'{path} is a symlink (to {os.readlink(path)}); nothing is '
                f'written through it: choose another name, or pass {flag} '
                f'to replace the link itself')
    elif osp.isdir(path):
        raise OutputExistsError(f'{path} is a folder; give a file name')
    elif osp.exists(path) and not force:
        raise OutputExistsError(f'{path} exists; move it away, choose '
                                f'another name, or pass {flag} to replace it')


@contextmanager
def atomic_output(path):
    """Yield a temporary path beside ``path`` to write to; on success it is
    renamed to ``path`` (replacing a file or a symlink there, never writing
    through the link), on failure it is removed and ``path`` is untouched.

    Raises:
        OSError: The folder cannot be created or written.
    """
    folder = osp.dirname(osp.abspath(path))
    if osp.exists(folder) and not osp.isdir(folder):
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR),
                                 folder)
    os.makedirs(folder, exist_ok=True)
    # The same extension, for writers that check it.
    stem, ext = osp.splitext(osp.basename(path))
    tmp = osp.join(folder, f'.{stem}.{uuid.uuid4().hex}.partial{ext}')
    # Created new (never through a symlink), with the umask's permissions.
    os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
    try:
        yield tmp
        with open(tmp, 'rb+') as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if osp.lexists(tmp):
            os.unlink(tmp)


def write_atomically(data, path):
    """Write the bytes ``data`` to ``path`` through :func:`atomic_output`."""
    with atomic_output(path) as tmp, open(tmp, 'wb') as f:
        f.write(data)
