"""JSON format, with numpy arrays, numpy scalars and sets converted to plain values."""
from __future__ import annotations

import json
from typing import IO, Any

from .base import BaseFileHandler


def set_default(obj: Any) -> Any:
    """Convert values ``json`` cannot write: sets/ranges -> lists, numpy arrays -> lists,
    numpy scalars -> Python numbers.

    Raises:
        TypeError: the object has no JSON form.
    """
    if isinstance(obj, (set, range, frozenset)):
        return list(obj)
    # numpy is checked by duck typing so that the handler does not import numpy itself.
    if type(obj).__module__.startswith('numpy') and hasattr(obj, 'tolist'):
        return obj.tolist()  # arrays become nested lists, scalars Python numbers
    raise TypeError(f'{type(obj)} is unsupported for json dump; convert it to a list, dict, '
                    'str or number first')


class JsonHandler(BaseFileHandler):
    """Read and write JSON (``.json``)."""

    def load_from_fileobj(self, file: IO, **kwargs: Any) -> Any:
        return json.load(file, **kwargs)

    def dump_to_fileobj(self, obj: Any, file: IO, **kwargs: Any) -> None:
        kwargs.setdefault('default', set_default)
        json.dump(obj, file, **kwargs)

    def dump_to_str(self, obj: Any, **kwargs: Any) -> str:
        kwargs.setdefault('default', set_default)
        return json.dumps(obj, **kwargs)
