"""The pre-0.7 ``FileClient`` interface, kept so that old code keeps working.

New code should call the functions of :mod:`mmengine.fileio` (``get``, ``put``, ...) with
``backend_args`` instead.
"""
from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .backends import (
    BaseStorageBackend,
    FsspecBackend,
    HTTPBackend,
    LmdbBackend,
    LocalBackend,
    MemcachedBackend,
    PetrelBackend,
)


class HardDiskBackend(LocalBackend):
    """Deprecated alias of :class:`LocalBackend`."""

    def __init__(self) -> None:
        warnings.warn('"HardDiskBackend" is deprecated; use "LocalBackend" instead',
                      DeprecationWarning, stacklevel=2)

    @property
    def name(self) -> str:
        """The backend's class name."""
        return self.__class__.__name__


class FileClient:
    """A storage backend chosen by name or URI prefix, shared per argument set.

    Deprecated: use :func:`mmengine.fileio.get_file_backend` and the path-level functions.

    Args:
        backend: Backend name (``'disk'``, ``'local'``, ``'http'``, ``'petrel'``,
            ``'memcached'``, ``'lmdb'``, ``'fsspec'``, or a registered one).
        prefix: URI prefix used to choose the backend when ``backend`` is None.
        **kwargs: Passed to the backend's constructor.

    Raises:
        ValueError: the backend or prefix is not registered.
    """

    _backends: dict[str, type[BaseStorageBackend]] = {
        'disk': HardDiskBackend, 'local': LocalBackend, 'memcached': MemcachedBackend,
        'lmdb': LmdbBackend, 'petrel': PetrelBackend, 'http': HTTPBackend,
        'fsspec': FsspecBackend,
    }
    # s3 goes through fsspec (s3fs) rather than the internal petrel client.
    _prefix_to_backends: dict[str, type[BaseStorageBackend]] = {
        's3': FsspecBackend, 'gs': FsspecBackend, 'memory': FsspecBackend,
        'petrel': PetrelBackend, 'http': HTTPBackend, 'https': HTTPBackend,
    }
    _instances: dict[str, FileClient] = {}

    client: Any

    def __new__(cls, backend: str | None = None, prefix: str | None = None,
                **kwargs: Any) -> FileClient:
        warnings.warn('"FileClient" is deprecated; use the functions of mmengine.fileio with '
                      'backend_args instead', DeprecationWarning, stacklevel=2)
        if backend is None and prefix is None:
            backend = 'disk'
        if backend is not None and backend not in cls._backends:
            raise ValueError(f'Backend {backend!r} is not supported; supported backends: '
                             f'{sorted(cls._backends)}')
        if prefix is not None and prefix not in cls._prefix_to_backends:
            raise ValueError(f'prefix {prefix!r} is not supported; supported prefixes: '
                             f'{sorted(cls._prefix_to_backends)}')
        arg_key = f'{backend}:{prefix}:{sorted(kwargs.items())!r}'
        if arg_key not in cls._instances:
            instance = super().__new__(cls)
            backend_cls = (cls._backends[backend] if backend is not None
                           else cls._prefix_to_backends[prefix])  # type: ignore[index]
            with warnings.catch_warnings():
                warnings.simplefilter('ignore', DeprecationWarning)
                instance.client = backend_cls(**kwargs)
            cls._instances[arg_key] = instance
        return cls._instances[arg_key]

    @property
    def name(self) -> str:
        """The backend's name."""
        return self.client.name

    @property
    def allow_symlink(self) -> bool:
        """Whether the backend supports symlinks."""
        return self.client.allow_symlink

    @staticmethod
    def parse_uri_prefix(uri: str | Path) -> str | None:
        """Return the prefix of a URI (``'s3'`` for ``'s3://b/k'``), or None for local paths.

        Examples:
            >>> FileClient.parse_uri_prefix('cluster:s3://bucket/key')
            's3'
            >>> FileClient.parse_uri_prefix('/tmp/a') is None
            True
        """
        uri = str(uri)
        if '://' not in uri:
            return None
        return uri.split('://', 1)[0].split(':')[-1]

    @classmethod
    def infer_client(cls, file_client_args: dict | None = None,
                     uri: str | Path | None = None) -> FileClient:
        """Build a client from ``file_client_args``, or from the prefix of ``uri``.

        Raises:
            ValueError: neither argument is given.
        """
        if file_client_args is None and uri is None:
            raise ValueError('pass file_client_args or uri to infer the file client')
        if file_client_args is None:
            return cls(prefix=cls.parse_uri_prefix(uri))  # type: ignore[arg-type]
        return cls(**file_client_args)

    @classmethod
    def _register_backend(cls, name: str, backend: type, force: bool = False,
                          prefixes: str | list[str] | None = None) -> None:
        if not isinstance(name, str):
            raise TypeError(f'the backend name must be a str, got {type(name)}')
        if not inspect.isclass(backend) or not issubclass(backend, BaseStorageBackend):
            raise TypeError(f'backend must be a subclass of BaseStorageBackend, got {backend!r}')
        if name in cls._backends and not force:
            raise KeyError(f'{name} is already registered as a storage backend; pass '
                           'force=True to override it')
        cls._backends[name] = backend
        # Cached clients may hold the replaced backend.
        cls._instances = {k: v for k, v in cls._instances.items()
                          if not k.startswith(f'{name}:')}
        prefix_list = [prefixes] if isinstance(prefixes, str) else list(prefixes or [])
        for prefix in prefix_list:
            if prefix in cls._prefix_to_backends and not force:
                raise KeyError(f'{prefix} is already registered as a storage backend prefix; '
                               'pass force=True to override it')
            cls._prefix_to_backends[prefix] = backend

    @classmethod
    def register_backend(cls, name: str, backend: type | None = None, force: bool = False,
                         prefixes: str | list[str] | None = None) -> Callable | None:
        """Register a backend for this class; usable as a decorator when ``backend`` is None."""
        if backend is not None:
            cls._register_backend(name, backend, force=force, prefixes=prefixes)
            return None

        def _register(backend_cls: type) -> type:
            cls._register_backend(name, backend_cls, force=force, prefixes=prefixes)
            return backend_cls

        return _register

    def get(self, filepath: str | Path) -> bytes:
        """Read a file's bytes."""
        return self.client.get(filepath)

    def get_text(self, filepath: str | Path, encoding: str = 'utf-8') -> str:
        """Read a file's text."""
        return self.client.get_text(filepath, encoding)

    def put(self, obj: bytes, filepath: str | Path) -> None:
        """Write bytes to a file."""
        self.client.put(obj, filepath)

    def put_text(self, obj: str, filepath: str | Path) -> None:
        """Write text to a file."""
        self.client.put_text(obj, filepath)

    def remove(self, filepath: str | Path) -> None:
        """Remove a file."""
        self.client.remove(filepath)

    def exists(self, filepath: str | Path) -> bool:
        """Whether a path exists."""
        return self.client.exists(filepath)

    def isdir(self, filepath: str | Path) -> bool:
        """Whether a path is a directory."""
        return self.client.isdir(filepath)

    def isfile(self, filepath: str | Path) -> bool:
        """Whether a path is a file."""
        return self.client.isfile(filepath)

    def join_path(self, filepath: str | Path, *filepaths: str | Path) -> str:
        """Join path components."""
        return self.client.join_path(filepath, *filepaths)

    @contextmanager
    def get_local_path(self, filepath: str | Path) -> Generator[str | Path, None, None]:
        """Yield a local path holding the file."""
        with self.client.get_local_path(str(filepath)) as local_path:
            yield local_path

    def list_dir_or_file(self, dir_path: str | Path, list_dir: bool = True,
                         list_file: bool = True, suffix: str | tuple[str, ...] | None = None,
                         recursive: bool = False) -> Iterator[str]:
        """Yield the entries under a directory, relative to it."""
        yield from self.client.list_dir_or_file(dir_path, list_dir, list_file, suffix,
                                                 recursive)
