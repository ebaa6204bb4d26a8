"""Command-line overrides: parsing ``KEY=VALUE`` strings and dotted keys into nested dicts."""
from __future__ import annotations

from typing import Any

from ._config_dict import ConfigDict

_PAIRS = {'[': ']', '(': ')'}


class UnbalancedBracketsError(ValueError, AssertionError):
    """A ``--cfg-options`` value has brackets that do not pair up.

    compat: MMEngine raises AssertionError here; this is also a ValueError (a bad value).
    """


def parse_scalar(text: str) -> Any:
    """Parse one command-line value: int, float, bool (true/false), None, else the string.

    Examples:
        >>> [parse_scalar(t) for t in ('3', '0.5', 'False', 'None', 'abc')]
        [3, 0.5, False, None, 'abc']
    """
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    if text.lower() in ('true', 'false'):
        return text.lower() == 'true'
    if text == 'None':
        return None
    return text


def _split_top_level(text: str, whole: str) -> list[str]:
    """Split ``text`` at the commas that are not inside brackets."""
    items, depth_stack, start = [], [], 0
    for index, char in enumerate(text):
        if char in _PAIRS:
            depth_stack.append(_PAIRS[char])
        elif char in _PAIRS.values():
            if not depth_stack or depth_stack.pop() != char:
                raise UnbalancedBracketsError(f'Unbalanced brackets in option value {whole!r}.')
        elif char == ',' and not depth_stack:
            items.append(text[start:index])
            start = index + 1
    if depth_stack:
        raise UnbalancedBracketsError(f'Unbalanced brackets in option value {whole!r}.')
    items.append(text[start:])
    return items


def _is_wrapped(text: str) -> bool:
    """Whether the whole text is one bracketed group, like ``[1, 2]`` (not ``[1], [2]``)."""
    if len(text) < 2 or text[0] not in _PAIRS or _PAIRS[text[0]] != text[-1]:
        return False
    depth = 0
    for index, char in enumerate(text):
        depth += char in _PAIRS
        depth -= char in _PAIRS.values()
        if depth == 0 and index < len(text) - 1:
            return False
    return True


def parse_option_value(text: str, whole: str | None = None) -> Any:
    """Parse a ``--cfg-options`` value: scalars, ``a,b`` lists, ``[...]`` lists, ``(...)``
    tuples, nested to any depth. Surrounding quotes are removed first.

    Examples:
        >>> parse_option_value('[(a,b), [1,2], false]')
        [('a', 'b'), [1, 2], False]
        >>> parse_option_value('x,y'), parse_option_value('(3,)')
        (['x', 'y'], (3,))

    Raises:
        UnbalancedBracketsError: If brackets do not pair up.
    """
    whole = text if whole is None else whole
    text = text.strip().strip('\'"').strip()
    wrapped = _is_wrapped(text)
    if wrapped:
        inner = text[1:-1]
    elif any(char in text for char in '[](),'):
        inner = text
    else:
        return parse_scalar(text)
    items = _split_top_level(inner, whole)
    if not wrapped and len(items) == 1:  # brackets inside a plain string, like 'a[0]'
        return parse_scalar(text)
    if items and not items[-1].strip():  # '(1,)' and '[]' end with an empty item
        items.pop()
    values = [parse_option_value(item, whole) for item in items]
    return tuple(values) if wrapped and text[0] == '(' else values


def options_to_nested(options: dict) -> ConfigDict:
    """Turn ``{'model.layers': 4}`` into ``{'model': {'layers': 4}}``.

    Raises:
        TypeError: If ``options`` is not a dict.
        ValueError: If one option sets a key that another one treats as a dict.
    """
    if not isinstance(options, dict):
        raise TypeError(f'options must be a dict of dotted keys to values, but got '
                        f'{type(options).__name__}: {options!r}.')
    nested = ConfigDict()
    for full_key, value in options.items():
        keys = str(full_key).split('.')
        node = nested
        for depth, key in enumerate(keys[:-1]):
            node = node.setdefault(key, ConfigDict())
            if not isinstance(node, dict):
                raise ValueError(f'Option {full_key!r} conflicts with option '
                                 f'{".".join(keys[:depth + 1])!r}, which sets a value there.')
        node[keys[-1]] = value
    return nested


def add_args(parser: Any, cfg: dict, prefix: str = '') -> Any:
    """Add one ``--key`` argument to an argparse parser for each value of ``cfg``.

    Nested dicts give dotted names (``--model.layers``); the argument type follows the value's
    type; bools become ``store_true`` flags; lists take ``nargs='+'``.

    Args:
        parser: An ``argparse.ArgumentParser``.
        cfg: The config (dict) whose values become arguments.
        prefix: Prepended to each name (used for nested dicts).

    Returns:
        The parser.
    """
    for key, value in cfg.items():
        if isinstance(value, dict):
            add_args(parser, value, f'{prefix}{key}.')
        else:
            parser.add_argument(f'--{prefix}{key}', **_argument_kwargs(value))
    return parser


def _argument_kwargs(value: Any) -> dict:
    if isinstance(value, bool):
        return {'action': 'store_true'}
    if isinstance(value, (str, int, float)):
        return {'type': type(value)}
    if isinstance(value, (list, tuple)) and value:
        return {'type': type(value[0]), 'nargs': '+'}
    return {}
