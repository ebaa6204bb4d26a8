"""The interface of a file format handler."""
from __future__ import annotations

from abc import ABCMeta, abstractmethod
from pathlib import Path
from typing import IO, Any


class BaseFileHandler(metaclass=ABCMeta):
    """Read and write one file format.

    A subclass implements the three file-object methods; path-level methods open the file in
    text mode (or binary mode when ``str_like`` is False) and delegate to them.
    """

    # Whether the format is text (``dump_to_str`` returns ``str``) or binary (``bytes``).
    str_like = True

    @abstractmethod
    def load_from_fileobj(self, file: IO, **kwargs: Any) -> Any:
        """Read an object from an open file."""

    @abstractmethod
    def dump_to_fileobj(self, obj: Any, file: IO, **kwargs: Any) -> None:
        """Write an object to an open file."""

    @abstractmethod
    def dump_to_str(self, obj: Any, **kwargs: Any) -> str | bytes:
        """Serialize an object to ``str`` (text formats) or ``bytes``."""

    def load_from_path(self, filepath: str | Path, mode: str = 'r', **kwargs: Any) -> Any:
        """Read an object from a local file."""
        with open(filepath, mode) as f:
            return self.load_from_fileobj(f, **kwargs)

    def dump_to_path(self, obj: Any, filepath: str | Path, mode: str = 'w',
                     **kwargs: Any) -> None:
        """Write an object to a local file (see :func:`mmengine.fileio.dump` for atomic writes)."""
        with open(filepath, mode) as f:
            self.dump_to_fileobj(obj, f, **kwargs)
