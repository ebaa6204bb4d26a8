"""Deep import path of :class:`PetrelBackend`."""
from .optional_backends import PetrelBackend

__all__ = ['PetrelBackend']
