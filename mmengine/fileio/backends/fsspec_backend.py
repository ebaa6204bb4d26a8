"""Remote and virtual filesystems (``s3://``, ``gs://``, ``memory://``, ...) through fsspec."""
from __future__ import annotations

import os
import os.path as osp
import tempfile
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .base import BaseStorageBackend
from .local_backend import check_suffix_args


def _import_fsspec() -> Any:
    try:
        import fsspec
    except ImportError as e:
        raise ImportError('fsspec is required to read and write remote URIs such as s3:// or '
                          'memory://; install it with `pip install fsspec` (plus the protocol '
                          'package, e.g. s3fs or gcsfs)') from e
    return fsspec


class FsspecBackend(BaseStorageBackend):
    """Any filesystem fsspec knows, chosen per path from its ``protocol://`` prefix.

    Args:
        **storage_options: Passed to the fsspec filesystem (credentials, endpoint, ...).

    Examples:
        >>> backend = FsspecBackend()
        >>> backend.put_text('hi', 'memory://doc/a.txt')
        >>> backend.get_text('memory://doc/a.txt')
        'hi'
        >>> backend.rmtree('memory://doc')
    """

    def __init__(self, **storage_options: Any) -> None:
        _import_fsspec()  # fail early with an install hint
        self.storage_options = storage_options

    def _fs(self, filepath: str | Path) -> tuple[Any, str]:
        """Return the fsspec filesystem serving ``filepath`` and the path within it."""
        fsspec = _import_fsspec()
        # fsspec caches filesystem instances, so resolving per call is cheap.
        return fsspec.core.url_to_fs(str(filepath), **self.storage_options)

    def get(self, filepath: str | Path) -> bytes:
        """Read a file's bytes."""
        fs, path = self._fs(filepath)
        return fs.cat_file(path)

    def get_text(self, filepath: str | Path, encoding: str = 'utf-8') -> str:
        """Read a file's text."""
        return self.get(filepath).decode(encoding)

    def put(self, obj: bytes, filepath: str | Path) -> None:
        """Write bytes to a file (object stores replace objects atomically)."""
        fs, path = self._fs(filepath)
        parent = fs._parent(path)
        if parent:  # local-like filesystems need the directory; object stores ignore it
            fs.makedirs(parent, exist_ok=True)
        fs.pipe_file(path, obj)

    def put_text(self, obj: str, filepath: str | Path, encoding: str = 'utf-8') -> None:
        """Write text to a file."""
        self.put(obj.encode(encoding), filepath)

    def exists(self, filepath: str | Path) -> bool:
        """Whether the path exists."""
        fs, path = self._fs(filepath)
        return fs.exists(path)

    def isdir(self, filepath: str | Path) -> bool:
        """Whether the path is a directory (a prefix, for object stores)."""
        fs, path = self._fs(filepath)
        return fs.isdir(path)

    def isfile(self, filepath: str | Path) -> bool:
        """Whether the path is a file."""
        fs, path = self._fs(filepath)
        return fs.isfile(path)

    def join_path(self, filepath: str | Path, *filepaths: str | Path) -> str:
        """Join URI components with ``/``."""
        parts = [str(filepath).rstrip('/')] + [str(p).strip('/') for p in filepaths]
        return '/'.join(parts)

    @contextmanager
    def get_local_path(self, filepath: str | Path) -> Generator[str, None, None]:
        """Download a file to a temporary local path, yield it, and delete it afterwards."""
        suffix = osp.splitext(str(filepath))[1]
        fd, local = tempfile.mkstemp(suffix=suffix)
        os.close(fd)
        try:
            self.copyfile_to_local(filepath, local)
            yield local
        finally:
            os.remove(local)

    def _dst_file(self, src: str | Path, dst: str | Path) -> str:
        """Resolve a destination that names a directory to a file inside it."""
        if self.isdir(dst):
            return self.join_path(dst, osp.basename(str(src)))
        return str(dst)

    def copyfile(self, src: str | Path, dst: str | Path) -> str:
        """Copy a file within this storage. Returns the destination path."""
        dst = self._dst_file(src, dst)
        fs, src_path = self._fs(src)
        fs.copy(src_path, self._fs(dst)[1])
        return dst

    def copytree(self, src: str | Path, dst: str | Path) -> str:
        """Copy a directory within this storage; ``dst`` must not exist."""
        if self.exists(dst):
            raise FileExistsError(f'{dst} already exists; copytree needs a new destination')
        for rel in self.list_dir_or_file(src, list_dir=False, recursive=True):
            self.copyfile(self.join_path(src, rel), self.join_path(dst, rel))
        return str(dst)

    def copyfile_from_local(self, src: str | Path, dst: str | Path) -> str:
        """Upload a local file. Returns the destination path."""
        dst = self._dst_file(src, dst)
        with open(src, 'rb') as f:
            self.put(f.read(), dst)
        return dst

    def copytree_from_local(self, src: str | Path, dst: str | Path) -> str:
        """Upload a local directory tree; ``dst`` must not exist."""
        if self.exists(dst):
            raise FileExistsError(f'{dst} already exists; copytree needs a new destination')
        for root, _, files in os.walk(src):
            rel_root = osp.relpath(root, src)
            for name in files:
                rel = name if rel_root == '.' else f'{rel_root}/{name}'.replace(os.sep, '/')
                self.copyfile_from_local(osp.join(root, name), self.join_path(dst, rel))
        return str(dst)

    def copyfile_to_local(self, src: str | Path, dst: str | Path) -> str:
        """Download a file; a directory ``dst`` receives it under the same name."""
        if osp.isdir(dst):
            dst = osp.join(dst, osp.basename(str(src)))
        data = self.get(src)
        with open(dst, 'wb') as f:
            f.write(data)
        return str(dst)

    def copytree_to_local(self, src: str | Path, dst: str | Path) -> str:
        """Download a directory tree to a new local directory."""
        if osp.exists(dst):
            raise FileExistsError(f'{dst} already exists; copytree needs a new destination')
        for rel in self.list_dir_or_file(src, list_dir=False, recursive=True):
            local = osp.join(dst, *rel.split('/'))
            os.makedirs(osp.dirname(local), exist_ok=True)
            self.copyfile_to_local(self.join_path(src, rel), local)
        return str(dst)

    def remove(self, filepath: str | Path) -> None:
        """Remove a file.

        Raises:
            FileNotFoundError: it does not exist.
            IsADirectoryError: it is a directory (use :meth:`rmtree`).
        """
        if not self.exists(filepath):
            raise FileNotFoundError(f'filepath {filepath} does not exist')
        if self.isdir(filepath):
            raise IsADirectoryError(f'filepath {filepath} is a directory; use rmtree')
        fs, path = self._fs(filepath)
        fs.rm_file(path)

    def rmtree(self, dir_path: str | Path) -> None:
        """Remove a directory and everything under it."""
        fs, path = self._fs(dir_path)
        fs.rm(path, recursive=True)

    def list_dir_or_file(self, dir_path: str | Path, list_dir: bool = True,
                         list_file: bool = True, suffix: str | tuple[str, ...] | None = None,
                         recursive: bool = False) -> Iterator[str]:
        """Yield the entries under a directory as ``/``-separated paths relative to it.

        Raises:
            TypeError: ``suffix`` is given with ``list_dir=True`` or is not a str/tuple.
        """
        check_suffix_args(list_dir, suffix)
        fs, root = self._fs(dir_path)
        root = root.rstrip('/')

        def _walk(current: str) -> Iterator[str]:
            for info in fs.ls(current, detail=True):
                name = info['name'].rstrip('/')
                rel = name[len(root):].lstrip('/')
                if info['type'] == 'directory':
                    if list_dir:
                        yield rel
                    if recursive:
                        yield from _walk(name)
                elif list_file and (suffix is None or rel.endswith(suffix)):
                    yield rel

        return _walk(root)

    def generate_presigned_url(self, url: str, client_method: str = 'get_object',
                               expires_in: int = 3600) -> str:
        """Return a signed URL for ``url`` when the filesystem supports signing.

        Raises:
            NotImplementedError: the filesystem cannot sign URLs (e.g. ``memory://``).
        """
        fs, path = self._fs(url)
        return fs.sign(path, expiration=expires_in)
