"""Backends built on client libraries that are not dependencies of mmengine.

Each imports its client library when constructed and raises an ``ImportError`` naming what to
install when it is absent. They are kept for configs written for the original MMEngine; new
code should prefer fsspec URIs.
"""
from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path
from typing import Any

from .base import BaseStorageBackend


def _require(module: str, hint: str, backend: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise ImportError(f'{backend} needs the `{module}` package, which is not installed; '
                          f'{hint}') from e


class PetrelBackend(BaseStorageBackend):
    """Ceph/S3 storage through SenseTime's ``petrel_client``.

    Args:
        path_mapping: Prefix replacements applied to every path (old -> new).
        enable_mc: Use memcached in the client.
        conf_path: The client's configuration file.
    """

    def __init__(self, path_mapping: dict | None = None, enable_mc: bool = True,
                 conf_path: str | None = None) -> None:
        petrel = _require('petrel_client.client', 'install petrel_client (internal package) '
                          'or use an s3:// URI through fsspec (`pip install fsspec s3fs`)',
                          'PetrelBackend')
        self._client = petrel.Client(conf_path=conf_path, enable_mc=enable_mc)
        if path_mapping is not None and not isinstance(path_mapping, dict):
            raise TypeError(f'path_mapping must be a dict, got {type(path_mapping)}')
        self.path_mapping = path_mapping

    def _map_path(self, filepath: str | Path) -> str:
        filepath = str(filepath)
        for old, new in (self.path_mapping or {}).items():
            filepath = filepath.replace(old, new, 1)
        return re.sub(r'\\+', '/', filepath)

    def get(self, filepath: str | Path) -> bytes:
        return self._client.Get(self._map_path(filepath))

    def get_text(self, filepath: str | Path, encoding: str = 'utf-8') -> str:
        return self.get(filepath).decode(encoding)

    def put(self, obj: bytes, filepath: str | Path) -> None:
        self._client.put(self._map_path(filepath), obj)

    def put_text(self, obj: str, filepath: str | Path, encoding: str = 'utf-8') -> None:
        self.put(obj.encode(encoding), filepath)

    def exists(self, filepath: str | Path) -> bool:
        path = self._map_path(filepath)
        return self._client.contains(path) or self._client.isdir(path)

    def join_path(self, filepath: str | Path, *filepaths: str | Path) -> str:
        parts = [str(filepath).rstrip('/')] + [str(p).strip('/') for p in filepaths]
        return '/'.join(parts)


class MemcachedBackend(BaseStorageBackend):
    """Read files cached in memcached through the ``mc`` client.

    Args:
        server_list_cfg: The server list configuration file.
        client_cfg: The client configuration file.
        sys_path: Extra directory appended to ``sys.path`` to find ``mc``.
    """

    def __init__(self, server_list_cfg: str, client_cfg: str, sys_path: str | None = None):
        if sys_path is not None:
            sys.path.append(sys_path)
        mc = _require('mc', 'install memcached and its Python client `mc`', 'MemcachedBackend')
        self._client = mc.MemcachedClient.GetInstance(server_list_cfg, client_cfg)
        self._mc_buffer = mc.pyvector()
        self._mc = mc

    def get(self, filepath: str | Path) -> bytes:
        self._client.Get(str(filepath), self._mc_buffer)
        return self._mc.ConvertBuffer(self._mc_buffer)

    def get_text(self, filepath: str | Path, encoding: str = 'utf-8') -> str:
        raise NotImplementedError('MemcachedBackend stores bytes only; use get()')


class LmdbBackend(BaseStorageBackend):
    """Read values from an LMDB database, using file paths as keys.

    Args:
        db_path: The database directory.
        readonly: Open the environment read only.
        lock: Use LMDB's file locking.
        readahead: Let the OS read ahead.
        **kwargs: Passed to ``lmdb.open``.
    """

    def __init__(self, db_path: str | Path, readonly: bool = True, lock: bool = False,
                 readahead: bool = False, **kwargs: Any) -> None:
        lmdb = _require('lmdb', 'install it with `pip install lmdb`', 'LmdbBackend')
        self.db_path = str(db_path)
        self._client = lmdb.open(self.db_path, readonly=readonly, lock=lock,
                                 readahead=readahead, **kwargs)

    def get(self, filepath: str | Path) -> bytes:
        with self._client.begin(write=False) as txn:
            value = txn.get(str(filepath).encode('ascii'))
        if value is None:
            raise FileNotFoundError(f'key {filepath!r} is not in LMDB database {self.db_path}')
        return value

    def get_text(self, filepath: str | Path, encoding: str = 'utf-8') -> str:
        return self.get(filepath).decode(encoding)
