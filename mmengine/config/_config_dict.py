"""ConfigDict: a dict with attribute access, and the merge rules shared by the config system."""
from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from .lazy import is_lazy

DELETE_KEY = '_delete_'

_MISSING = object()


def _convert(value: Any) -> Any:
    """Turn plain dicts (also inside lists and tuples) into ConfigDicts; keep everything else."""
    if isinstance(value, ConfigDict):
        return value
    if isinstance(value, dict):
        return ConfigDict(value)
    if type(value) is list:
        return [_convert(item) for item in value]
    if type(value) is tuple:
        return tuple(_convert(item) for item in value)
    return value


def _to_plain(value: Any) -> Any:
    """Turn ConfigDicts (also inside lists and tuples) into plain dicts, building lazy values."""
    if isinstance(value, ConfigDict):
        return {key: _to_plain(item) for key, item in value.items()}
    if isinstance(value, dict):
        return {key: _to_plain(item) for key, item in value.items()}
    if type(value) is list:
        return [_to_plain(item) for item in value]
    if type(value) is tuple:
        return tuple(_to_plain(item) for item in value)
    return value


class ConfigDict(dict):
    """A dict whose keys are also attributes: ``cfg.model.type`` is ``cfg['model']['type']``.

    Dicts stored in it, also inside lists and tuples, become ConfigDicts. Values that are lazy
    references (:class:`~mmengine.config.lazy.LazyObject`) are built when read, unless the
    class attribute :attr:`lazy` is True (it is while a pure-Python config is executed).

    Examples:
        >>> cfg = ConfigDict(model=dict(type='ToyModel', layers=[dict(width=4)]))
        >>> cfg.model.layers[0].width
        4
        >>> cfg.optim = dict(lr=0.1)
        >>> type(cfg.optim).__name__, cfg.to_dict()['optim']
        ('ConfigDict', {'lr': 0.1})
    """

    lazy = False

    def __init__(__self, *args: Any, **kwargs: Any) -> None:  # noqa: N805 (a key may be 'self')
        super().__init__()
        for key, value in dict(*args, **kwargs).items():
            __self[key] = value

    # --- access -----------------------------------------------------------------------------
    def build_lazy(self, value: Any) -> Any:
        """Return ``value`` built if it is a lazy reference and lazy mode is off."""
        if not self.lazy and is_lazy(value):
            return value.build()
        return value

    def __getitem__(self, key: Any) -> Any:
        return self.build_lazy(super().__getitem__(key))

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"'{type(self).__name__}' object has no attribute {name!r} "
                                 f'(no key {name!r}; keys: {list(self.keys())[:20]})') from None

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(key, _convert(value))

    def __setattr__(self, name: str, value: Any) -> None:
        if hasattr(type(self), name):
            raise AttributeError(f'{name!r} is a method or attribute of ConfigDict and cannot '
                                 f'be set as an attribute; use cfg[{name!r}] = ... instead.')
        self[name] = value

    def __delattr__(self, name: str) -> None:
        try:
            del self[name]
        except KeyError:
            raise AttributeError(f"'{type(self).__name__}' object has no attribute "
                                 f'{name!r}') from None

    def __iter__(self) -> Iterator:
        # Defining __iter__ also makes dict(cfg) and {**cfg} go through __getitem__, so lazy
        # values are built there too.
        return iter(self.keys())

    def get(self, key: Any, default: Any = None) -> Any:
        """Return the (built) value of ``key``, or ``default`` when it is absent."""
        return self.build_lazy(super().get(key, default))

    def pop(self, key: Any, default: Any = None) -> Any:
        """Remove ``key`` and return its (built) value, or ``default`` when it is absent."""
        # compat: a missing key returns ``default`` (None) rather than raising, as in MMEngine.
        return self.build_lazy(super().pop(key, default))

    def setdefault(self, key: Any, default: Any = None) -> Any:
        """Return ``self[key]``, first setting it to ``default`` when absent."""
        if key not in self:
            self[key] = default
        return self[key]

    def values(self) -> list:  # type: ignore[override]
        """The (built) values, as a list."""
        return [self.build_lazy(value) for value in super().values()]

    def items(self) -> list:  # type: ignore[override]
        """The ``(key, built value)`` pairs, as a list."""
        return [(key, self.build_lazy(value)) for key, value in super().items()]

    # --- updates ----------------------------------------------------------------------------
    def update(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        """Update recursively: a dict value updates the dict already stored under its key."""
        for key, value in dict(*args, **kwargs).items():
            current = super().get(key, _MISSING)
            if isinstance(current, ConfigDict) and isinstance(value, dict):
                current.update(value)
            else:
                self[key] = value

    def merge(self, other: dict) -> None:
        """Merge ``other`` into this dict in place, honouring ``_delete_=True`` markers.

        Args:
            other: The dict whose values win. A nested dict merges into the dict under the same
                key unless it holds ``_delete_=True``, in which case it replaces it.
        """
        if not isinstance(other, dict):
            raise TypeError(f'merge expects a dict, but got {type(other).__name__}: {other!r}.')
        merged = merge_a_into_b(copy.deepcopy(other), copy.deepcopy(self))
        dict.clear(self)
        for key, value in dict.items(merged):
            self[key] = value

    def to_dict(self) -> dict:
        """Return a plain-dict copy (nested ConfigDicts become dicts, lazy values are built)."""
        return _to_plain(self)

    # --- copying and pickling ---------------------------------------------------------------
    def __copy__(self) -> ConfigDict:
        new = type(self)()
        dict.update(new, dict.items(self))
        return new

    copy = __copy__

    def __deepcopy__(self, memo: dict) -> ConfigDict:
        new = type(self)()
        memo[id(self)] = new
        for key, value in dict.items(self):
            dict.__setitem__(new, copy.deepcopy(key, memo), copy.deepcopy(value, memo))
        return new

    def __reduce__(self) -> tuple:
        # The raw items, so lazy values stay lazy through pickling.
        return type(self), (), None, None, iter(dict.items(self))


def merge_a_into_b(a: dict, b: Any, allow_list_keys: bool = False, where: str = '') -> Any:
    """Merge dict ``a`` into ``b`` (modified in place when it is a dict) and return the result.

    A dict value of ``a`` merges into the dict under the same key of ``b`` unless it holds
    ``_delete_=True``, which makes it replace that value. Other values of ``a`` win.

    Args:
        a: The dict whose values win (the child config, or command-line options).
        b: The dict merged into (the base config).
        allow_list_keys: Whether digit keys of ``a`` index into lists of ``b``.
        where: The dotted key path of ``b``, for error messages.

    Raises:
        TypeError: If a dict of ``a`` meets a non-dict value of ``b`` without ``_delete_``.
        KeyError: If a list index is out of range.
    """
    if not isinstance(a, dict):
        return a
    if dict.pop(a, DELETE_KEY, False) or not isinstance(b, (dict, list)):
        return strip_delete(a)
    for key, value in list(dict.items(a)):
        path = f'{where}.{key}' if where else str(key)
        target, index = _slot(b, key, allow_list_keys, path)
        current = _raw_get(target, index)
        if isinstance(value, dict) and current is not _MISSING:
            mergeable = isinstance(current, dict) or (allow_list_keys
                                                      and isinstance(current, list))
            if not mergeable and not dict.get(value, DELETE_KEY, False):
                hint = (' To index into the list, use digit keys with allow_list_keys=True.'
                        if isinstance(current, list) else '')
                raise TypeError(
                    f'{path}={value!r} in the child config cannot inherit from the base '
                    f'config: it is a dict in the child but a {type(current).__name__} in '
                    f'the base. Set `{DELETE_KEY}=True` in the child to replace it.{hint}')
            value = merge_a_into_b(value, current, allow_list_keys, path)
        else:
            value = strip_delete(value)
        _raw_set(target, index, value)
    return b


def _slot(b: dict | list, key: Any, allow_list_keys: bool, path: str) -> tuple[Any, Any]:
    if isinstance(b, list):
        if not (allow_list_keys and isinstance(key, str) and key.isdigit()):
            raise TypeError(f'Cannot set {path}: the value at its parent is a list; index it '
                            f'with a digit key and allow_list_keys=True.')
        if int(key) >= len(b):
            raise KeyError(f'Index {key} of {path} exceeds the length of list {b!r}.')
        return b, int(key)
    return b, key


def _raw_get(target: dict | list, index: Any) -> Any:
    if isinstance(target, list):
        return target[index]
    return dict.get(target, index, _MISSING)


def _raw_set(target: dict | list, index: Any, value: Any) -> None:
    if isinstance(target, ConfigDict):
        target[index] = value
    elif isinstance(target, list):
        target[index] = _convert(value)
    else:
        target[index] = value


def strip_delete(value: Any) -> Any:
    """Remove every ``_delete_`` marker left in ``value`` (dicts inside lists included)."""
    if isinstance(value, dict):
        dict.pop(value, DELETE_KEY, None)
        for key, item in dict.items(value):
            dict.__setitem__(value, key, strip_delete(item))
    elif type(value) is list:
        return [strip_delete(item) for item in value]
    elif type(value) is tuple:
        return tuple(strip_delete(item) for item in value)
    return value
