"""Text substitutions applied to a config file before it is parsed.

``{{ fileDirname }}`` and the other predefined variables, ``{{$NAME:default}}`` environment
variables, and ``{{_base_.a.b}}`` references to values of the base configs (replaced by
placeholder tokens here, and by the values once the bases are loaded).
"""
from __future__ import annotations

import copy
import os
import os.path as osp
import re
import uuid
from typing import Any

PREDEFINED_NAMES = ('fileDirname', 'fileBasename', 'fileBasenameNoExtension', 'fileExtname')

_PREDEFINED_RE = re.compile(r'\{\{\s*(' + '|'.join(PREDEFINED_NAMES) + r')\s*\}\}')
_ENV_RE = re.compile(r'\{\{\s*\$(\w+)\s*(?::\s*(.*?)\s*)?\}\}')
_BASE_REF_RE = re.compile(r'\{\{\s*_base_\.([\w.]+)\s*\}\}')
_ANY_VAR_RE = re.compile(r'\{\{\s*([\w.$]+)[^{}\n]*\}\}')


def _line_of(text: str, position: int) -> int:
    return text.count('\n', 0, position) + 1


def substitute_predefined(text: str, path: str) -> str:
    """Replace ``{{ fileDirname }}``, ``{{ fileBasename }}``, ``{{ fileBasenameNoExtension }}``
    and ``{{ fileExtname }}`` with the values for the config file at ``path``.

    Examples:
        >>> substitute_predefined("name = '{{ fileBasenameNoExtension }}'", '/cfg/toy.py')
        "name = 'toy'"
    """
    basename = osp.basename(path)
    values = {
        'fileDirname': osp.dirname(path).replace('\\', '/'),
        'fileBasename': basename,
        'fileBasenameNoExtension': osp.splitext(basename)[0],
        'fileExtname': osp.splitext(basename)[1],
    }
    return _PREDEFINED_RE.sub(lambda match: values[match.group(1)], text)


def substitute_env(text: str, path: str) -> tuple[str, dict[str, str]]:
    """Replace ``{{$NAME}}`` / ``{{$NAME:default}}`` with the environment variable's value.

    Returns:
        The new text and the variables used, with the values substituted.

    Raises:
        KeyError: If a variable is unset and has no (non-empty) default.
    """
    used: dict[str, str] = {}

    def replace(match: re.Match) -> str:
        name, default = match.group(1), match.group(2)
        value = os.environ.get(name, default or None)
        if value is None:
            raise KeyError(f'Environment variable {name!r} used in config file {path} (line '
                           f'{_line_of(text, match.start())}) is not set and has no default. '
                           f'Set it, or write {{{{${name}:default}}}}.')
        used[name] = value
        return value

    return _ENV_RE.sub(replace, text), used


def check_unknown_variables(text: str, path: str) -> None:
    """Raise for ``{{ name }}`` left in the text that no substitution knows.

    Raises:
        ValueError: Naming the variable, the file and the line.
    """
    for match in _ANY_VAR_RE.finditer(text):
        name = match.group(1)
        if name.startswith('_base_.') or name.startswith('$'):
            continue
        raise ValueError(
            f'Unknown variable {match.group(0)!r} in config file {path} (line '
            f'{_line_of(text, match.start())}). Predefined variables are '
            f'{", ".join(PREDEFINED_NAMES)}; environment variables are written {{{{$NAME}}}}; '
            f'base values {{{{_base_.key}}}}. Pass use_predefined_variables=False to keep '
            f'braces literally.')


def has_base_refs(text: str) -> bool:
    """Whether the text holds ``{{_base_.xxx}}`` references."""
    return _BASE_REF_RE.search(text) is not None


def _inside_string(text: str, position: int) -> bool:
    """Whether ``position`` lies inside a quoted string on its line (a cheap scanner)."""
    quote = None
    index = text.rfind('\n', 0, position) + 1
    while index < position:
        char = text[index]
        if quote and char == '\\':
            index += 1
        elif quote is None and char in '\'"':
            quote = char
        elif char == quote:
            quote = None
        index += 1
    return quote is not None


def substitute_base_refs(text: str) -> tuple[str, dict[str, str]]:
    """Replace each ``{{_base_.a.b}}`` with a unique placeholder token.

    Outside quotes the token is written as a string literal, so the file still parses; inside
    a string it is written bare and later replaced by the value's text.

    Returns:
        The new text and a map from token to the dotted key it stands for.
    """
    refs: dict[str, str] = {}
    salt = uuid.uuid4().hex[:8]

    def replace(match: re.Match) -> str:
        token = f'_base_ref_{len(refs)}_{salt}_'
        refs[token] = match.group(1)
        return token if _inside_string(text, match.start()) else f'"{token}"'

    return _BASE_REF_RE.sub(replace, text), refs


def lookup_base(base: dict, dotted: str, path: str) -> Any:
    """Return the value at a dotted key path (digits index lists) of the base configs.

    Raises:
        KeyError: If the base configs define no such key.
    """
    value: Any = base
    for part in dotted.split('.'):
        if isinstance(value, dict) and part in value:
            value = dict.__getitem__(value, part)
        elif isinstance(value, (list, tuple)) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            raise KeyError(f'{{{{_base_.{dotted}}}}} in config file {path}: the base configs '
                           f'define no {dotted!r} (failed at {part!r}).')
    return value


def fill_base_refs(value: Any, refs: dict[str, str], base: dict, path: str) -> Any:
    """Replace placeholder tokens in ``value`` (recursively) by the base values they name."""
    if not refs:
        return value
    if isinstance(value, dict):
        return {key: fill_base_refs(item, refs, base, path) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        filled = [fill_base_refs(item, refs, base, path) for item in value]
        return filled if isinstance(value, list) else tuple(filled)
    if not isinstance(value, str):
        return value
    if value in refs:
        return copy.deepcopy(lookup_base(base, refs[value], path))
    for token, dotted in refs.items():
        if token in value:
            text = str(lookup_base(base, dotted, path))
            value = value.replace(f'"{token}"', text).replace(token, text)
    return value
