"""Format a config dict as readable Python source that loads back to the same config.

Our own small formatter (no yapf): each top-level key becomes ``key = value``; a value that
does not fit on the line is broken into one item per line, recursively. Classes, functions and
lazy imports are written as references, with the ``import`` lines they need at the top.
"""
from __future__ import annotations

import builtins
import enum
import keyword
import math
import re
import sys
import types
from typing import Any

from .lazy import LazyAttr, LazyObject

WIDTH = 79
INDENT = 4
_LITERAL_TYPES = (bool, int, float, complex, str, bytes)
_DOTTED = re.compile(r'[A-Za-z_]\w*(\.[A-Za-z_]\w*)+')


def _is_identifier(key: Any) -> bool:
    return isinstance(key, str) and key.isidentifier() and not keyword.iskeyword(key)


class _Imports:
    """The import lines a formatted config needs, with names that clash renamed."""

    def __init__(self, taken: set[str]) -> None:
        self.taken = set(taken)
        self.from_imports: dict[tuple[str, str], str] = {}  # (module, name) -> bound name
        self.module_imports: dict[str, None] = {}

    def from_import(self, module: str, name: str) -> str:
        if (module, name) not in self.from_imports:
            bound, number = name, 1
            while bound in self.taken:
                number += 1
                bound = f'{name}_{number}'
            self.taken.add(bound)
            self.from_imports[(module, name)] = bound
        return self.from_imports[(module, name)]

    def module_import(self, module: str) -> str:
        self.module_imports[module] = None
        return module

    def lines(self) -> list[str]:
        out = [f'import {module}' for module in self.module_imports]
        for (module, name), bound in self.from_imports.items():
            alias = '' if bound == name else f' as {bound}'
            out.append(f'from {module} import {name}{alias}')
        return out


def _resolves_to(module: str, qualname: str, obj: Any) -> bool:
    target: Any = sys.modules.get(module)
    for part in qualname.split('.'):
        target = getattr(target, part, None)
    return target is obj


def _reference(obj: Any, imports: _Imports) -> str | None:
    """Python source naming ``obj`` through an import, or None when it has no such name."""
    if isinstance(obj, LazyObject):
        if obj.imported is not None:
            return imports.from_import(obj.module, obj.imported)
        modules = obj._module if isinstance(obj._module, list) else [obj._module]
        for module in modules:
            imports.module_import(module)
        return obj.module
    if isinstance(obj, LazyAttr):
        source = _reference(obj.source, imports)
        return f'{source}.{obj.name}'
    if isinstance(obj, types.ModuleType):
        return imports.module_import(obj.__name__)
    module, qualname = getattr(obj, '__module__', None), getattr(obj, '__qualname__', None)
    if isinstance(module, str) and isinstance(qualname, str) and '<' not in qualname:
        if module == 'builtins' and getattr(builtins, qualname, None) is obj:
            return qualname
        if _resolves_to(module, qualname, obj):
            root, _, rest = qualname.partition('.')
            bound = imports.from_import(module, root)
            return f'{bound}.{rest}' if rest else bound
    text = repr(obj)
    if _DOTTED.fullmatch(text):  # e.g. torch.float32
        top = text.split('.')[0]
        if top in sys.modules and _resolves_to(top, text.partition('.')[2], obj):
            return f'{imports.module_import(top)}.{text.partition(".")[2]}'
    return None


class _Formatter:
    def __init__(self, imports: _Imports, width: float) -> None:
        self.imports = imports
        self.width = width

    def flat(self, value: Any) -> str:
        """Source for ``value`` on one line."""
        parts = self.parts(value)
        if parts is None:
            return self.scalar(value)
        opening, closing, items = parts
        trailing = ',' if opening == '(' and len(items) == 1 else ''
        body = ', '.join(prefix + self.flat(item) for prefix, item in items)
        return f'{opening}{body}{trailing}{closing}'

    def scalar(self, value: Any) -> str:
        if isinstance(value, float) and not math.isfinite(value):
            return f"float('{value}')"
        if isinstance(value, enum.Enum):
            owner = _reference(type(value), self.imports)
            if owner is not None:
                return f'{owner}.{value.name}'
        for kind in _LITERAL_TYPES:
            if isinstance(value, kind):  # subclasses (numpy floats) are written as the builtin
                return kind.__repr__(value)
        if value is None:
            return 'None'
        if isinstance(value, (set, frozenset)):
            return 'set()' if isinstance(value, set) else 'frozenset()'
        reference = _reference(value, self.imports)
        # An object without an importable name is kept as its repr, as a string.
        return reference if reference is not None else repr(repr(value))

    def parts(self, value: Any) -> tuple[str, str, list[tuple[str, Any]]] | None:
        """(opening, closing, [(prefix, item)]) for containers, None for scalars."""
        if isinstance(value, dict):
            items = list(dict.items(value))
            if all(_is_identifier(key) for key, _ in items):
                return 'dict(', ')', [(f'{key}=', item) for key, item in items]
            return '{', '}', [(f'{self.flat(key)}: ', item) for key, item in items]
        if isinstance(value, list):
            return '[', ']', [('', item) for item in value]
        if isinstance(value, tuple) and type(value) is tuple:
            return '(', ')', [('', item) for item in value]
        if isinstance(value, (set, frozenset)) and value:
            kind = '{' if isinstance(value, set) else 'frozenset({'
            items = sorted(value, key=repr)
            return kind, '}' if isinstance(value, set) else '})', [('', i) for i in items]
        return None

    def format(self, value: Any, indent: int, column: int) -> str:
        """Source for ``value`` starting at ``column``, continuation lines at ``indent``."""
        parts = self.parts(value)
        flat = self.flat(value)
        if parts is None or not parts[2] or column + len(flat) <= self.width:
            return flat
        opening, closing, items = parts
        inner = indent + INDENT
        lines = [' ' * inner + prefix + self.format(item, inner, inner + len(prefix)) + ','
                 for prefix, item in items]
        return opening + '\n' + '\n'.join(lines) + '\n' + ' ' * indent + closing


def format_config(cfg: dict, width: float = WIDTH) -> str:
    """Python source for a config dict: import lines, then one assignment per key.

    Args:
        cfg: The config (its raw values are read; lazy values are written as imports).
        width: The line width to wrap at; ``math.inf`` writes each key on one line.
    """
    keys = [key for key in dict.keys(cfg)]
    imports = _Imports({key for key in keys if isinstance(key, str)})
    formatter = _Formatter(imports, width)
    body, extra = [], {}
    for key, value in dict.items(cfg):
        if _is_identifier(key):
            body.append(f'{key} = {formatter.format(value, 0, len(key) + 3)}')
        else:
            extra[key] = value
    if extra:
        # Keys that are not identifiers (from json/yaml) cannot be assigned by name.
        body.append(f'globals().update({formatter.format(extra, 0, 16)})')
    header = imports.lines()
    text = '\n'.join(header + ([''] if header else []) + body)
    return text + '\n'
