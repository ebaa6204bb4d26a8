"""Local filesystem path helpers."""
from __future__ import annotations

import os
import os.path as osp
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from .misc import is_str


def is_filepath(x: Any) -> bool:
    """Return whether ``x`` is a path given as ``str`` or ``pathlib.Path``."""
    return is_str(x) or isinstance(x, Path)


def fopen(filepath: str | Path, *args: Any, **kwargs: Any) -> IO:
    """Open a file given as ``str`` or ``Path``; extra arguments go to :func:`open`.

    Raises:
        ValueError: ``filepath`` is neither a ``str`` nor a ``Path``.
    """
    if is_str(filepath):
        return open(filepath, *args, **kwargs)
    if isinstance(filepath, Path):
        return filepath.open(*args, **kwargs)
    raise ValueError(f'`filepath` should be a string or a Path, got {type(filepath)}')


def check_file_exist(filename: str | Path, msg_tmpl: str = 'file "{}" does not exist') -> None:
    """Raise ``FileNotFoundError`` (formatted from ``msg_tmpl``) if ``filename`` is not a file."""
    if not osp.isfile(filename):
        raise FileNotFoundError(msg_tmpl.format(filename))


def mkdir_or_exist(dir_name: str | Path, mode: int = 0o777) -> None:
    """Create a directory and its parents unless it exists; an empty name does nothing."""
    if dir_name == '':
        return
    dir_name = osp.expanduser(dir_name)
    os.makedirs(dir_name, mode=mode, exist_ok=True)


def symlink(src: str | Path, dst: str | Path, overwrite: bool = True, **kwargs: Any) -> None:
    """Create a symlink ``dst`` pointing to ``src``, replacing an existing ``dst`` if asked."""
    if os.path.lexists(dst) and overwrite:
        os.remove(dst)
    os.symlink(src, dst, **kwargs)


def scandir(dir_path: str | Path, suffix: str | tuple[str, ...] | None = None,
            recursive: bool = False, case_sensitive: bool = True) -> Iterator[str]:
    """Yield the files in a directory, as paths relative to it.

    Args:
        dir_path: The directory to scan.
        suffix: Only yield files ending with this suffix (or one of these suffixes).
        recursive: Descend into subdirectories (symlinked directories are not followed).
        case_sensitive: If False, suffixes match regardless of case.

    Raises:
        TypeError: ``dir_path`` is not a str/Path, or ``suffix`` is not a str/tuple of str.
    """
    if isinstance(dir_path, Path):
        dir_path = str(dir_path)
    if not is_str(dir_path):
        raise TypeError(f'"dir_path" must be a string or Path object, got {type(dir_path)}')
    if suffix is not None and not isinstance(suffix, (str, tuple)):
        raise TypeError(f'"suffix" must be a string or tuple of strings, got {type(suffix)}')
    if suffix is not None and not case_sensitive:
        suffix = suffix.lower() if isinstance(suffix, str) else tuple(s.lower() for s in suffix)
    root = dir_path

    def _scan(current: str) -> Iterator[str]:
        for entry in os.scandir(current):
            if not entry.name.startswith('.') and entry.is_file():
                rel_path = osp.relpath(entry.path, root)
                name = rel_path if case_sensitive else rel_path.lower()
                if suffix is None or name.endswith(suffix):
                    yield rel_path
            elif recursive and entry.is_dir(follow_symlinks=False):
                yield from _scan(entry.path)

    return _scan(dir_path)


def find_vcs_root(path: str | Path, markers: tuple[str, ...] = ('.git',)) -> str | None:
    """Return the closest directory at or above ``path`` holding one of ``markers``, or None."""
    cur = osp.abspath(path)
    if osp.isfile(cur):
        cur = osp.dirname(cur)
    prev = None
    while cur != prev:
        if any(osp.exists(osp.join(cur, marker)) for marker in markers):
            return cur
        prev, cur = cur, osp.split(cur)[0]
    return None


def is_abs(path: str) -> bool:
    """Return whether ``path`` is absolute; URIs with a ``scheme://`` prefix count as absolute.

    Examples:
        >>> is_abs('/a/b'), is_abs('a/b'), is_abs('s3://bucket/x')
        (True, False, True)
    """
    if osp.isabs(path) or '://' in str(path):
        return True
    return False
