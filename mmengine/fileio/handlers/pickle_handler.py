"""Pickle format (binary)."""
from __future__ import annotations

import pickle
from pathlib import Path
from typing import IO, Any

from .base import BaseFileHandler


class PickleHandler(BaseFileHandler):
    """Read and write pickles (``.pkl``, ``.pickle``). Only load pickles you trust."""

    str_like = False

    def load_from_fileobj(self, file: IO, **kwargs: Any) -> Any:
        return pickle.load(file, **kwargs)

    def load_from_path(self, filepath: str | Path, **kwargs: Any) -> Any:
        return super().load_from_path(filepath, mode='rb', **kwargs)

    def dump_to_str(self, obj: Any, **kwargs: Any) -> bytes:
        kwargs.setdefault('protocol', 2)
        return pickle.dumps(obj, **kwargs)

    def dump_to_fileobj(self, obj: Any, file: IO, **kwargs: Any) -> None:
        kwargs.setdefault('protocol', 2)
        pickle.dump(obj, file, **kwargs)

    def dump_to_path(self, obj: Any, filepath: str | Path, **kwargs: Any) -> None:
        super().dump_to_path(obj, filepath, mode='wb', **kwargs)
