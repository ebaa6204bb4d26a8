"""Deep import path of :class:`MemcachedBackend`."""
from .optional_backends import MemcachedBackend

__all__ = ['MemcachedBackend']
