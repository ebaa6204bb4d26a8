"""Lazy references to imported objects, used by pure-Python (``read_base``) configs.

In a lazy config, ``from torch.optim import SGD`` does not import anything while the config is
read: ``SGD`` becomes a :class:`LazyObject`, and ``nn.ReLU`` on a lazy ``nn`` becomes a
:class:`LazyAttr`. Both are built (imported) on first use through a ``ConfigDict`` or with
:meth:`build`, so reading a config never needs the libraries it only names.
"""
from __future__ import annotations

import importlib
from typing import Any

# Private attributes of the lazy classes: while an instance is being unpickled or copied they
# are not set yet, and looking them up must fail instead of starting a LazyAttr chain.
_OWN_ATTRS = frozenset({'_module', '_imported'})


def _import(module: str, location: str | None) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        where = f' (imported at {location})' if location else ''
        raise ImportError(f'Failed to import module {module!r}{where} while building a lazy '
                          f'config value: {exc}') from exc


class _Lazy:
    """What lazy objects and their attributes share: reading an attribute makes a
    :class:`LazyAttr`, and calling one is an error while the config is read."""

    location: str | None

    def _target(self) -> str:
        raise NotImplementedError

    def __getattr__(self, name: str) -> LazyAttr:
        if name.startswith('__') or name in _OWN_ATTRS:
            raise AttributeError(name)
        return LazyAttr(name, self, self.location)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(
            f'{self._target()} is a lazily imported object and cannot be called while the '
            f'config is read. Use it as a value (e.g. type={self}) and build it later, or load '
            f'the config with lazy_import=False.')


class LazyObject(_Lazy):
    """A module, or a name imported from a module, that is imported only when built.

    Args:
        module: The module path. A string such as ``'torch.optim'``; or a list of module paths
            for ``import a.b`` statements, which bind the top package ``a`` after importing
            every listed module.
        imported: The name imported from ``module`` (``from module import imported``), or
            ``None`` when the module itself is the value.
        location: Where the import was written (``'file.py, line 3'``), for error messages.

    Examples:
        >>> join = LazyObject('os.path', 'join')
        >>> join.build() is __import__('os').path.join
        True
        >>> LazyObject('os').path.build() is __import__('os').path
        True
    """

    def __init__(self, module: str | list[str], imported: str | None = None,
                 location: str | None = None) -> None:
        if not isinstance(module, (str, list, tuple)):
            raise TypeError(f'module must be a str or a list of str, but got '
                            f'{type(module).__name__}: {module!r}.')
        self._module: str | list[str] = module if isinstance(module, str) else list(module)
        self._imported = imported
        self.location = location

    @property
    def module(self) -> str:
        """The dotted path of the module this object comes from (or is)."""
        if isinstance(self._module, str):
            return self._module
        return self._module[0].split('.')[0]

    @property
    def imported(self) -> str | None:
        """The name imported from :attr:`module`, or ``None`` for a module import."""
        return self._imported

    def build(self) -> Any:
        """Import and return the object this reference names.

        Raises:
            ImportError: If the module cannot be imported, or lacks the imported name.
        """
        if not isinstance(self._module, str):
            for name in self._module:
                _import(name, self.location)
            return _import(self.module, self.location)
        module = _import(self._module, self.location)
        if self._imported is None:
            return module
        try:
            return getattr(module, self._imported)
        except AttributeError:
            # ``from package import submodule`` where the package does not import it itself.
            return _import(f'{self._module}.{self._imported}', self.location)

    def _target(self) -> str:
        return self.module if self._imported is None else f'{self.module}.{self._imported}'

    def __str__(self) -> str:
        return self._imported if self._imported is not None else self.module

    def __repr__(self) -> str:
        return f'<LazyObject {self._target()!r}>'

    def __eq__(self, other: object) -> bool:
        return (type(other) is type(self) and self._module == other._module  # type: ignore[attr-defined]
                and self._imported == other._imported)  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((str(self._module), self._imported))


class LazyAttr(_Lazy):
    """An attribute of a lazy object (``nn.ReLU`` where ``nn`` is lazy), built on demand.

    Args:
        name: The attribute name.
        source: The :class:`LazyObject` or :class:`LazyAttr` it is read from.
        location: Where it was written, for error messages.

    Examples:
        >>> attr = LazyObject('os').path.join
        >>> attr.module
        'os.path'
        >>> attr.build() is __import__('os').path.join
        True
    """

    def __init__(self, name: str, source: LazyObject | LazyAttr,
                 location: str | None = None) -> None:
        self.name = name
        self.source = source
        self.location = location

    @property
    def module(self) -> str:
        """The dotted path of the object this attribute is read from."""
        source = self.source
        if isinstance(source, LazyObject):
            if source.imported is None:
                return source.module
            return f'{source.module}.{source.imported}'
        return f'{source.module}.{source.name}'

    def build(self) -> Any:
        """Build the source, then return this attribute of it.

        Raises:
            AttributeError: If the built source has no such attribute.
        """
        owner = self.source.build()
        try:
            return getattr(owner, self.name)
        except AttributeError as exc:
            where = f' (used at {self.location})' if self.location else ''
            raise AttributeError(f'{self.module!r} has no attribute {self.name!r}{where}.'
                                 ) from exc

    def _target(self) -> str:
        return f'{self.module}.{self.name}'

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f'<LazyAttr {self._target()!r}>'

    def __eq__(self, other: object) -> bool:
        return (type(other) is type(self) and self.name == other.name  # type: ignore[attr-defined]
                and self.source == other.source)  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((self.name, hash(self.source)))


def is_lazy(value: Any) -> bool:
    """Whether ``value`` is a lazy reference (:class:`LazyObject` or :class:`LazyAttr`)."""
    return isinstance(value, (LazyObject, LazyAttr))
