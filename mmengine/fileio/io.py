"""Path-level file API that dispatches to a storage backend, plus ``load``/``dump``."""
from __future__ import annotations

import os.path as osp
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from io import BytesIO, StringIO
from pathlib import Path
from typing import Any

from .backends import BaseStorageBackend, LocalBackend, backends, prefix_to_backends
from .backends.local_backend import atomic_write
from .handlers import file_handlers

_backend_instances: dict[str, BaseStorageBackend] = {}


def _parse_uri_prefix(uri: str | Path) -> str:
    """Return the scheme of ``uri`` (``'s3'`` for ``'s3://b/k'``, ``''`` for local paths).

    A cluster name before the scheme (``'cluster:s3://b/k'``) is dropped.
    """
    uri = str(uri)
    if '://' not in uri:
        return ''
    prefix = uri.split('://', 1)[0]
    return prefix.split(':')[-1]


def _infer_backend_class(uri: str | Path | None) -> type[BaseStorageBackend]:
    prefix = '' if uri is None else _parse_uri_prefix(uri)
    if not prefix:
        return LocalBackend
    if prefix in prefix_to_backends:
        return prefix_to_backends[prefix]
    if _fsspec_knows(prefix):
        return backends['fsspec']
    raise ValueError(f'no storage backend is registered for prefix {prefix!r} (uri {uri!r}); '
                     f'known prefixes: {sorted(prefix_to_backends)}. Register one with '
                     'register_backend(name, cls, prefixes=...) or install fsspec')


def _fsspec_knows(protocol: str) -> bool:
    try:
        from fsspec.registry import known_implementations, registry
    except ImportError:
        return False
    return protocol in known_implementations or protocol in registry


def get_file_backend(uri: str | Path | None = None, *, backend_args: dict | None = None,
                     enable_singleton: bool = False) -> BaseStorageBackend:
    """Return the storage backend serving ``uri``.

    ``backend_args['backend']`` names a registered backend explicitly; otherwise the URI
    prefix chooses it (no prefix: :class:`LocalBackend`; ``s3://``, ``memory://`` and other
    fsspec protocols: the fsspec backend; ``http(s)://``: :class:`HTTPBackend`). The remaining
    ``backend_args`` are passed to the backend's constructor.

    Args:
        uri: A path or URI; ``None`` with no ``backend`` in ``backend_args`` gives the local
            backend.
        backend_args: Backend name and constructor arguments.
        enable_singleton: Reuse one instance per backend class and arguments.

    Raises:
        ValueError: the named backend or the URI prefix is not registered.

    Examples:
        >>> get_file_backend('/tmp/a.json').name
        'LocalBackend'
        >>> get_file_backend('memory://bucket/a.json').name
        'FsspecBackend'
    """
    args = dict(backend_args or {})
    name = args.pop('backend', None)
    if name is not None:
        if name not in backends:
            raise ValueError(f'backend {name!r} is not registered; registered backends: '
                             f'{sorted(backends)}')
        backend_cls = backends[name]
    else:
        backend_cls = _infer_backend_class(uri)
    if not enable_singleton:
        return backend_cls(**args)
    key = f'{backend_cls.__module__}.{backend_cls.__qualname__}:{sorted(args.items())!r}'
    if key not in _backend_instances:
        _backend_instances[key] = backend_cls(**args)
    return _backend_instances[key]


def _backend(filepath: str | Path, backend_args: dict | None) -> Any:
    return get_file_backend(filepath, backend_args=backend_args, enable_singleton=True)


def get(filepath: str | Path, backend_args: dict | None = None) -> bytes:
    """Read a file's bytes from any backend."""
    return _backend(filepath, backend_args).get(filepath)


def get_text(filepath: str | Path, encoding: str = 'utf-8',
             backend_args: dict | None = None) -> str:
    """Read a file's text from any backend."""
    return _backend(filepath, backend_args).get_text(filepath, encoding)


def put(obj: bytes, filepath: str | Path, backend_args: dict | None = None) -> None:
    """Write bytes to a file (atomically on local disk), creating parent directories."""
    _backend(filepath, backend_args).put(obj, filepath)


def put_text(obj: str, filepath: str | Path, backend_args: dict | None = None) -> None:
    """Write text to a file (atomically on local disk), creating parent directories."""
    _backend(filepath, backend_args).put_text(obj, filepath)


def exists(filepath: str | Path, backend_args: dict | None = None) -> bool:
    """Whether a path exists."""
    return _backend(filepath, backend_args).exists(filepath)


def isdir(filepath: str | Path, backend_args: dict | None = None) -> bool:
    """Whether a path is a directory."""
    return _backend(filepath, backend_args).isdir(filepath)


def isfile(filepath: str | Path, backend_args: dict | None = None) -> bool:
    """Whether a path is a file."""
    return _backend(filepath, backend_args).isfile(filepath)


def join_path(filepath: str | Path, *filepaths: str | Path,
              backend_args: dict | None = None) -> str | Path:
    """Join path components the way the path's backend does."""
    return _backend(filepath, backend_args).join_path(filepath, *filepaths)


@contextmanager
def get_local_path(filepath: str | Path,
                   backend_args: dict | None = None) -> Generator[str | Path, None, None]:
    """Yield a local path holding the file (downloaded to a temporary file when remote)."""
    with _backend(filepath, backend_args).get_local_path(str(filepath)) as local_path:
        yield local_path


def copyfile(src: str | Path, dst: str | Path, backend_args: dict | None = None) -> str | Path:
    """Copy a file within one storage. Returns the destination."""
    return _backend(src, backend_args).copyfile(src, dst)


def copytree(src: str | Path, dst: str | Path, backend_args: dict | None = None) -> str | Path:
    """Copy a directory tree within one storage; ``dst`` must not exist. Returns ``dst``."""
    return _backend(src, backend_args).copytree(src, dst)


def copyfile_from_local(src: str | Path, dst: str | Path,
                        backend_args: dict | None = None) -> str | Path:
    """Upload a local file to ``dst``'s storage. Returns the destination."""
    return _backend(dst, backend_args).copyfile_from_local(src, dst)


def copytree_from_local(src: str | Path, dst: str | Path,
                        backend_args: dict | None = None) -> str | Path:
    """Upload a local directory tree to ``dst``'s storage. Returns ``dst``."""
    return _backend(dst, backend_args).copytree_from_local(src, dst)


def copyfile_to_local(src: str | Path, dst: str | Path,
                      backend_args: dict | None = None) -> str | Path:
    """Download a file from ``src``'s storage to a local path. Returns the local path."""
    return _backend(src, backend_args).copyfile_to_local(src, dst)


def copytree_to_local(src: str | Path, dst: str | Path,
                      backend_args: dict | None = None) -> str | Path:
    """Download a directory tree from ``src``'s storage to a new local directory."""
    return _backend(src, backend_args).copytree_to_local(src, dst)


def remove(filepath: str | Path, backend_args: dict | None = None) -> None:
    """Remove a file (not a directory)."""
    _backend(filepath, backend_args).remove(filepath)


def rmtree(dir_path: str | Path, backend_args: dict | None = None) -> None:
    """Remove a directory tree."""
    _backend(dir_path, backend_args).rmtree(dir_path)


def copy_if_symlink_fails(src: str | Path, dst: str | Path,
                          backend_args: dict | None = None) -> bool:
    """Symlink ``dst`` to ``src``, copying instead where that fails. Returns whether it linked."""
    return _backend(src, backend_args).copy_if_symlink_fails(src, dst)


def list_dir_or_file(dir_path: str | Path, list_dir: bool = True, list_file: bool = True,
                     suffix: str | tuple[str, ...] | None = None, recursive: bool = False,
                     backend_args: dict | None = None) -> Iterator[str]:
    """Yield the directories and/or files under ``dir_path`` as paths relative to it.

    Args:
        dir_path: The directory.
        list_dir: Yield directories.
        list_file: Yield files.
        suffix: Only yield files with this suffix (requires ``list_dir=False``).
        recursive: Descend into subdirectories.
        backend_args: Backend name and constructor arguments.
    """
    return _backend(dir_path, backend_args).list_dir_or_file(dir_path, list_dir, list_file,
                                                             suffix, recursive)


def generate_presigned_url(url: str, client_method: str = 'get_object', expires_in: int = 3600,
                           backend_args: dict | None = None) -> str:
    """Return a pre-signed URL granting temporary access to ``url``.

    Raises:
        NotImplementedError: the backend cannot sign URLs.
    """
    backend = _backend(url, backend_args)
    if not hasattr(backend, 'generate_presigned_url'):
        raise NotImplementedError(f'{backend.name} cannot generate pre-signed URLs')
    return backend.generate_presigned_url(url, client_method, expires_in)


def _file_backend_for(file: str, file_client_args: dict | None,
                      backend_args: dict | None) -> Any:
    if file_client_args is not None and backend_args is not None:
        raise ValueError('"file_client_args" and "backend_args" cannot both be set; '
                         'use backend_args only')
    if file_client_args is not None:
        from .file_client import FileClient
        return FileClient.infer_client(file_client_args, file)
    return _backend(file, backend_args)


def _handler_for(file: Any, file_format: str | None) -> tuple[str, Any]:
    if file_format is None and isinstance(file, str):
        name = osp.basename(file)
        file_format = name.rsplit('.', 1)[-1] if '.' in name else None
    if file_format is None:
        raise ValueError('file_format must be given when it cannot be inferred from a file '
                         f'name (received {type(file).__name__}); e.g. file_format="json"')
    if file_format not in file_handlers:
        raise TypeError(f'Unsupported format: {file_format!r}; supported formats: '
                        f'{sorted(file_handlers)}. Add one with @register_handler')
    return file_format, file_handlers[file_format]


def load(file: str | Path | Any, file_format: str | None = None,
         file_client_args: dict | None = None, backend_args: dict | None = None,
         **kwargs: Any) -> Any:
    """Load an object from a json, yaml/yml or pickle/pkl file.

    Args:
        file: A path or URI (``str`` or ``Path``) or an open file object.
        file_format: The format; inferred from the extension when omitted.
        file_client_args: Deprecated; arguments of :class:`FileClient`.
        backend_args: Backend name and constructor arguments.
        **kwargs: Passed to the handler's ``load_from_fileobj``.

    Raises:
        TypeError: unsupported format or ``file`` of the wrong type.
        ValueError: the format cannot be inferred.

    Examples:
        >>> import io
        >>> load(io.StringIO('{"a": 1}'), file_format='json')
        {'a': 1}
    """
    if isinstance(file, Path):
        file = str(file)
    _, handler = _handler_for(file, file_format)
    if isinstance(file, str):
        backend = _file_backend_for(file, file_client_args, backend_args)
        if handler.str_like:
            return handler.load_from_fileobj(StringIO(backend.get_text(file)), **kwargs)
        return handler.load_from_fileobj(BytesIO(backend.get(file)), **kwargs)
    if hasattr(file, 'read'):
        return handler.load_from_fileobj(file, **kwargs)
    raise TypeError(f'"file" must be a filepath str, a Path or a file object, got {type(file)}')


def dump(obj: Any, file: str | Path | Any = None, file_format: str | None = None,
         file_client_args: dict | None = None, backend_args: dict | None = None,
         **kwargs: Any) -> str | bytes | None:
    """Dump an object to a json, yaml/yml or pickle/pkl file, or to a string.

    numpy arrays and scalars are written to json as lists and numbers. Writing to a local path
    is atomic: the file appears complete or not at all.

    Args:
        obj: The object to dump.
        file: A path or URI, an open file object, or ``None`` to return the serialized data.
        file_format: The format; inferred from the extension when omitted.
        file_client_args: Deprecated; arguments of :class:`FileClient`.
        backend_args: Backend name and constructor arguments.
        **kwargs: Passed to the handler's dump method.

    Returns:
        ``str`` (json, yaml) or ``bytes`` (pickle) when ``file`` is None, else None.

    Examples:
        >>> dump({'a': 1}, file_format='json')
        '{"a": 1}'
    """
    if isinstance(file, Path):
        file = str(file)
    _, handler = _handler_for(file, file_format)
    if file is None:
        return handler.dump_to_str(obj, **kwargs)
    if isinstance(file, str):
        backend = _file_backend_for(file, file_client_args, backend_args)
        if isinstance(backend, LocalBackend):  # stream into the temporary file
            atomic_write(file, lambda f: handler.dump_to_fileobj(obj, f, **kwargs),
                         binary=not handler.str_like)
            return None
        data = handler.dump_to_str(obj, **kwargs)
        if handler.str_like:
            backend.put_text(data, file)
        else:
            backend.put(data, file)
        return None
    if hasattr(file, 'write'):
        handler.dump_to_fileobj(obj, file, **kwargs)
        return None
    raise TypeError(f'"file" must be a filepath str, a Path or a file object, got {type(file)}')
