"""Storage backends (local disk, fsspec filesystems, HTTP, and legacy clients)."""
from .base import BaseStorageBackend
from .fsspec_backend import FsspecBackend
from .http_backend import HTTPBackend
from .local_backend import LocalBackend
from .optional_backends import LmdbBackend, MemcachedBackend, PetrelBackend
from .registry_utils import backends, prefix_to_backends, register_backend

__all__ = [
    'BaseStorageBackend', 'LocalBackend', 'HTTPBackend', 'LmdbBackend', 'MemcachedBackend',
    'PetrelBackend', 'FsspecBackend', 'register_backend', 'backends', 'prefix_to_backends',
]
