"""The table of file format handlers and how to extend it."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .base import BaseFileHandler
from .json_handler import JsonHandler
from .pickle_handler import PickleHandler
from .yaml_handler import YamlHandler

file_handlers: dict[str, BaseFileHandler] = {
    'json': JsonHandler(),
    'yaml': YamlHandler(),
    'yml': YamlHandler(),
    'pickle': PickleHandler(),
    'pkl': PickleHandler(),
}


def _register_handler(handler: BaseFileHandler, file_formats: str | list[str]) -> None:
    if not isinstance(handler, BaseFileHandler):
        raise TypeError(f'handler must be a child of BaseFileHandler, got {type(handler)}')
    formats = [file_formats] if isinstance(file_formats, str) else file_formats
    if not isinstance(formats, list) or not all(isinstance(f, str) for f in formats):
        raise TypeError(f'file_formats must be a str or a list of str, got {file_formats!r}')
    for fmt in formats:
        file_handlers[fmt] = handler


def register_handler(file_formats: str | list[str], **kwargs: Any) -> Callable[[type], type]:
    """Class decorator registering a handler class for one or more file extensions.

    The class is instantiated with ``**kwargs``; a later registration of the same format
    replaces the earlier one.

    Examples:
        >>> @register_handler('txt_doc')
        ... class TxtHandler(BaseFileHandler):
        ...     def load_from_fileobj(self, file): return file.read()
        ...     def dump_to_fileobj(self, obj, file): file.write(str(obj))
        ...     def dump_to_str(self, obj): return str(obj)
        >>> type(file_handlers['txt_doc']).__name__
        'TxtHandler'
        >>> del file_handlers['txt_doc']
    """

    def wrap(cls: type) -> type:
        _register_handler(cls(**kwargs), file_formats)
        return cls

    return wrap
