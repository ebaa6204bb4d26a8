"""Read simple line-based text files: lists and key-value dictionaries."""
from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import Any

from .io import get_text


def _read_text(filename: str | Path, encoding: str, file_client_args: dict | None,
               backend_args: dict | None) -> str:
    if file_client_args is not None and backend_args is not None:
        raise ValueError('"file_client_args" and "backend_args" cannot both be set; '
                         'use backend_args only')
    if file_client_args is not None:
        from .file_client import FileClient
        return FileClient.infer_client(file_client_args, filename).get_text(filename, encoding)
    return get_text(filename, encoding, backend_args=backend_args)


def list_from_file(filename: str | Path, prefix: str = '', offset: int = 0, max_num: int = 0,
                   encoding: str = 'utf-8', file_client_args: dict | None = None,
                   backend_args: dict | None = None) -> list[str]:
    """Read a text file into a list of lines (without line endings).

    Args:
        filename: Path or URI of the file.
        prefix: Prepended to every line.
        offset: Number of lines skipped at the start.
        max_num: Maximum number of lines read; 0 reads all.
        encoding: Text encoding.
        file_client_args: Deprecated; arguments of ``FileClient``.
        backend_args: Backend name and constructor arguments.
    """
    lines = _read_text(filename, encoding, file_client_args, backend_args).splitlines()
    lines = lines[offset:]
    if max_num > 0:
        lines = lines[:max_num]
    return [prefix + line.rstrip('\n\r') for line in lines]


def dict_from_file(filename: str | Path, key_type: type = str, encoding: str = 'utf-8',
                   file_client_args: dict | None = None,
                   backend_args: dict | None = None) -> dict[Any, Any]:
    """Read a text file of whitespace-separated columns into a dict.

    The first column is the key (converted with ``key_type``); the value is the second column
    when there are two, else the list of the remaining columns. Blank lines are skipped.

    Examples:
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), 'map.txt')
        >>> _ = open(path, 'w').write('1 cat\\n2 dog cow\\n')
        >>> dict_from_file(path, key_type=int)
        {1: 'cat', 2: ['dog', 'cow']}
    """
    text = _read_text(filename, encoding, file_client_args, backend_args)
    mapping: dict[Any, Any] = {}
    for line in StringIO(text):
        items = line.rstrip('\n').split()
        if len(items) < 2:
            if items:
                raise ValueError(f'line {line.strip()!r} of {filename} has a key but no value; '
                                 'each line needs at least two columns')
            continue
        key = key_type(items[0])
        mapping[key] = items[1:] if len(items) > 2 else items[1]
    return mapping
