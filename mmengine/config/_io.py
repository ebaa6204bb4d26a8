"""Reading and writing the data formats of config files (json, yaml) through mmengine.fileio."""
from __future__ import annotations

import io
import types
from pathlib import Path
from typing import Any

from .lazy import is_lazy

DATA_FORMATS = ('json', 'yaml', 'yml')


def load_data(text: str, file_format: str, filename: str) -> dict:
    """Parse the text of a json/yaml config into a dict.

    Raises:
        ValueError: If the text is not valid json/yaml.
        TypeError: If the top level is not a mapping.
    """
    import yaml

    from ..fileio import load

    fmt = 'yaml' if file_format == 'yml' else file_format
    # Configs are data: yaml is read with the safe loader, never constructing Python objects.
    kwargs = {'Loader': yaml.SafeLoader} if fmt == 'yaml' else {}
    try:
        data = load(io.StringIO(text), file_format=fmt, **kwargs)
    except (ValueError, yaml.YAMLError) as exc:
        raise ValueError(f'Config file {filename} is not valid {fmt}: {exc}') from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise TypeError(f'Config file {filename} must hold a mapping at the top level, but '
                        f'it holds a {type(data).__name__}.')
    return data


def dump_data(data: dict, file: str | Path | None, file_format: str) -> str | None:
    """Write ``data`` as json/yaml to ``file``, or return the text when ``file`` is None.

    Raises:
        TypeError: If a value has no json/yaml form (a class, function, lazy import, ...).
    """
    from ..fileio import dump

    fmt = 'yaml' if file_format == 'yml' else file_format
    plain = _serializable(data, '')
    kwargs: dict[str, Any] = {'sort_keys': False}
    if fmt == 'json':
        kwargs['indent'] = 4
    else:
        kwargs['allow_unicode'] = True
    result = dump(plain, str(file) if file is not None else None, file_format=fmt, **kwargs)
    return result if isinstance(result, str) else None


def _serializable(value: Any, path: str) -> Any:
    """Plain dicts and lists for the data formats (tuples become lists)."""
    if isinstance(value, dict):
        return {key: _serializable(item, f'{path}.{key}' if path else str(key))
                for key, item in dict.items(value)}
    if isinstance(value, (list, tuple)):
        return [_serializable(item, f'{path}.{index}') for index, item in enumerate(value)]
    if (is_lazy(value) or isinstance(value, (type, types.FunctionType, types.ModuleType,
                                             types.BuiltinFunctionType))):
        raise TypeError(f'The config value at {path!r} is {value!r}, which json/yaml cannot '
                        f'hold. Dump the config to a .py file instead, or use a registered '
                        f'name (a string) for it.')
    return value
