"""YAML format, using the C loader/dumper when PyYAML has them."""
from __future__ import annotations

from typing import IO, Any

import yaml

from .base import BaseFileHandler

try:
    from yaml import CDumper as Dumper
    from yaml import CLoader as Loader
except ImportError:  # PyYAML built without libyaml
    from yaml import Dumper, Loader  # type: ignore[assignment]


class YamlHandler(BaseFileHandler):
    """Read and write YAML (``.yaml``, ``.yml``)."""

    def load_from_fileobj(self, file: IO, **kwargs: Any) -> Any:
        kwargs.setdefault('Loader', Loader)
        return yaml.load(file, **kwargs)

    def dump_to_fileobj(self, obj: Any, file: IO, **kwargs: Any) -> None:
        kwargs.setdefault('Dumper', Dumper)
        yaml.dump(obj, file, **kwargs)

    def dump_to_str(self, obj: Any, **kwargs: Any) -> str:
        kwargs.setdefault('Dumper', Dumper)
        return yaml.dump(obj, **kwargs)
