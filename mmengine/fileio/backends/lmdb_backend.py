"""Deep import path of :class:`LmdbBackend`."""
from .optional_backends import LmdbBackend

__all__ = ['LmdbBackend']
