"""Files on the local filesystem, with atomic writes."""
from __future__ import annotations

import functools
import os
import os.path as osp
import shutil
import tempfile
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from mmengine.utils import mkdir_or_exist

from .base import BaseStorageBackend


@functools.cache
def _umask() -> int:
    # Reading the umask requires setting it; do it once rather than on every write.
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(filepath: str | Path, write: Callable[[IO], None], binary: bool = True,
                 encoding: str = 'utf-8') -> None:
    """Write a file so that readers see either the old content or the complete new one.

    The data goes to a temporary file in the same directory (so the final rename stays on one
    filesystem), is flushed and fsynced, then renamed over ``filepath`` with ``os.replace``. If
    ``write`` raises, the temporary file is removed and ``filepath`` is left untouched.

    Args:
        filepath: The final path; missing parent directories are created.
        write: Writes the content into the open temporary file.
        binary: Open the temporary file in binary mode, else text mode with ``encoding``.
        encoding: Text encoding when ``binary`` is False.
    """
    filepath = osp.abspath(osp.expanduser(filepath))
    directory = osp.dirname(filepath)
    mkdir_or_exist(directory)
    fd, tmp_path = tempfile.mkstemp(prefix=f'.{osp.basename(filepath)}.', suffix='.tmp',
                                    dir=directory)
    try:
        mode, kwargs = ('wb', {}) if binary else ('w', {'encoding': encoding, 'newline': ''})
        with os.fdopen(fd, mode, **kwargs) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp creates files readable by the owner only; give the usual umask permissions.
        os.chmod(tmp_path, 0o666 & ~_umask())
        os.replace(tmp_path, filepath)
    except BaseException:
        if osp.exists(tmp_path):
            os.remove(tmp_path)
        raise


def check_suffix_args(list_dir: bool, suffix: str | tuple[str, ...] | None) -> None:
    """Validate the ``suffix`` argument of ``list_dir_or_file``."""
    if list_dir and suffix is not None:
        raise TypeError('`suffix` should be None when `list_dir` is True; pass list_dir=False '
                        'to filter files by suffix')
    if suffix is not None and not isinstance(suffix, (str, tuple)):
        raise TypeError(f'`suffix` must be a string or tuple of strings, got {type(suffix)}')


class LocalBackend(BaseStorageBackend):
    """The local filesystem (the default backend).

    Examples:
        >>> import tempfile, os
        >>> backend = LocalBackend()
        >>> path = os.path.join(tempfile.mkdtemp(), 'a.txt')
        >>> backend.put_text('hello', path)
        >>> backend.get_text(path)
        'hello'
    """

    _allow_symlink = True

    def get(self, filepath: str | Path) -> bytes:
        """Read a file's bytes."""
        with open(filepath, 'rb') as f:
            return f.read()

    def get_text(self, filepath: str | Path, encoding: str = 'utf-8') -> str:
        """Read a file's text."""
        with open(filepath, encoding=encoding) as f:
            return f.read()

    def put(self, obj: bytes, filepath: str | Path) -> None:
        """Atomically write bytes to a file, creating parent directories."""
        atomic_write(filepath, lambda f: f.write(obj), binary=True)

    def put_text(self, obj: str, filepath: str | Path, encoding: str = 'utf-8') -> None:
        """Atomically write text to a file, creating parent directories."""
        atomic_write(filepath, lambda f: f.write(obj), binary=False, encoding=encoding)

    def exists(self, filepath: str | Path) -> bool:
        """Whether the path exists."""
        return osp.exists(filepath)

    def isdir(self, filepath: str | Path) -> bool:
        """Whether the path is a directory."""
        return osp.isdir(filepath)

    def isfile(self, filepath: str | Path) -> bool:
        """Whether the path is a file."""
        return osp.isfile(filepath)

    def join_path(self, filepath: str | Path, *filepaths: str | Path) -> str:
        """Join path components with the OS separator."""
        return osp.join(filepath, *filepaths)

    @contextmanager
    def get_local_path(self, filepath: str | Path) -> Generator[str | Path, None, None]:
        """Yield the path itself: local files need no download."""
        yield filepath

    def copyfile(self, src: str | Path, dst: str | Path) -> str:
        """Copy a file; a directory ``dst`` receives it under the same name. Returns the copy."""
        return shutil.copy(src, dst)

    def copytree(self, src: str | Path, dst: str | Path) -> str:
        """Copy a directory tree to ``dst``, which must not exist yet. Returns ``dst``."""
        return shutil.copytree(src, dst)

    def copyfile_from_local(self, src: str | Path, dst: str | Path) -> str:
        """Same as :meth:`copyfile` for local storage."""
        return self.copyfile(src, dst)

    def copytree_from_local(self, src: str | Path, dst: str | Path) -> str:
        """Same as :meth:`copytree` for local storage."""
        return self.copytree(src, dst)

    def copyfile_to_local(self, src: str | Path, dst: str | Path) -> str:
        """Same as :meth:`copyfile` for local storage."""
        return self.copyfile(src, dst)

    def copytree_to_local(self, src: str | Path, dst: str | Path) -> str:
        """Same as :meth:`copytree` for local storage."""
        return self.copytree(src, dst)

    def remove(self, filepath: str | Path) -> None:
        """Remove a file.

        Raises:
            FileNotFoundError: it does not exist.
            IsADirectoryError: it is a directory (use :meth:`rmtree`).
        """
        if not osp.exists(filepath):
            raise FileNotFoundError(f'filepath {filepath} does not exist')
        if osp.isdir(filepath):
            raise IsADirectoryError(f'filepath {filepath} is a directory; use rmtree')
        os.remove(filepath)

    def rmtree(self, dir_path: str | Path) -> None:
        """Remove a directory tree."""
        shutil.rmtree(dir_path)

    def copy_if_symlink_fails(self, src: str | Path, dst: str | Path) -> bool:
        """Symlink ``dst`` to ``src``; copy instead when that fails. Returns whether it linked."""
        try:
            os.symlink(src, dst)
            return True
        except Exception:
            return super().copy_if_symlink_fails(src, dst)

    def list_dir_or_file(self, dir_path: str | Path, list_dir: bool = True,
                         list_file: bool = True, suffix: str | tuple[str, ...] | None = None,
                         recursive: bool = False) -> Iterator[str]:
        """Yield the entries of a directory as paths relative to it.

        Args:
            dir_path: The directory.
            list_dir: Yield directories.
            list_file: Yield files.
            suffix: Only yield files with this suffix (requires ``list_dir=False``).
            recursive: Descend into subdirectories.

        Raises:
            TypeError: ``suffix`` is given with ``list_dir=True`` or is not a str/tuple.
        """
        check_suffix_args(list_dir, suffix)
        root = str(dir_path)

        def _walk(current: str) -> Iterator[str]:
            for entry in os.scandir(current):
                if entry.name.startswith('.'):
                    continue
                rel_path = osp.relpath(entry.path, root)
                if entry.is_file():
                    if list_file and (suffix is None or rel_path.endswith(suffix)):
                        yield rel_path
                elif entry.is_dir():
                    if list_dir:
                        yield rel_path
                    if recursive:
                        yield from _walk(entry.path)

        return _walk(root)
