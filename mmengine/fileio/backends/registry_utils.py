"""Tables of storage backends by name and by URI prefix, and how to extend them."""
from __future__ import annotations

import inspect
from collections.abc import Callable

from .base import BaseStorageBackend
from .fsspec_backend import FsspecBackend
from .http_backend import HTTPBackend
from .local_backend import LocalBackend
from .optional_backends import LmdbBackend, MemcachedBackend, PetrelBackend

backends: dict[str, type[BaseStorageBackend]] = {}
prefix_to_backends: dict[str, type[BaseStorageBackend]] = {}


def _register_backend(name: str, backend: type, force: bool = False,
                      prefixes: str | list[str] | tuple[str, ...] | None = None) -> None:
    if not isinstance(name, str):
        raise TypeError(f'the backend name must be a str, got {type(name)}')
    if not inspect.isclass(backend) or not issubclass(backend, BaseStorageBackend):
        raise TypeError(f'backend must be a subclass of BaseStorageBackend, got {backend!r}')
    if name in backends and not force:
        raise ValueError(f'backend {name!r} is already registered as {backends[name]}; pass '
                         'force=True to replace it')
    prefix_list = [prefixes] if isinstance(prefixes, str) else list(prefixes or [])
    clashes = [p for p in prefix_list if p in prefix_to_backends and not force]
    if clashes:
        raise ValueError(f'prefixes {clashes} are already registered; pass force=True to '
                         'replace them')
    backends[name] = backend
    for prefix in prefix_list:
        prefix_to_backends[prefix] = backend


def register_backend(name: str, backend: type | None = None, force: bool = False,
                     prefixes: str | list[str] | tuple[str, ...] | None = None
                     ) -> Callable | None:
    """Register a storage backend under a name and, optionally, URI prefixes.

    Use it as a function (``register_backend('mine', MyBackend)``) or as a class decorator
    (``@register_backend('mine', prefixes='mine')``).

    Args:
        name: The name used as ``backend_args={'backend': name}``.
        backend: The backend class; omit it to get a decorator.
        force: Replace an existing registration of the name or prefixes.
        prefixes: URI prefixes (``'oss'`` for ``oss://...``) served by this backend.

    Raises:
        TypeError: ``backend`` is not a ``BaseStorageBackend`` subclass.
        ValueError: the name or a prefix is taken and ``force`` is False.
    """
    if backend is not None:
        _register_backend(name, backend, force=force, prefixes=prefixes)
        return None

    def _register(backend_cls: type) -> type:
        _register_backend(name, backend_cls, force=force, prefixes=prefixes)
        return backend_cls

    return _register


register_backend('local', LocalBackend)
register_backend('http', HTTPBackend, prefixes=['http', 'https'])
register_backend('fsspec', FsspecBackend,
                 prefixes=['s3', 'gs', 'gcs', 'memory', 'hdfs', 'az', 'abfs', 'ftp', 'sftp'])
register_backend('petrel', PetrelBackend, prefixes='petrel')
register_backend('memcached', MemcachedBackend)
register_backend('lmdb', LmdbBackend)
