"""The Registry: a name -> class/function table that builds objects from config dicts."""
from __future__ import annotations

import difflib
import importlib
import inspect
import sys
import warnings
from collections.abc import Callable, Generator, Iterable
from contextlib import contextmanager
from typing import Any

from .default_scope import DefaultScope


class Registry:
    """Map names to classes or functions and build objects from config dicts.

    Registries form trees: a downstream project creates a child registry (``parent=MODELS``)
    with its own ``scope``; a name is looked up in the registry itself, then in its parents,
    and a scoped name ``'mmdet.ResNet'`` is looked up in the registry of that scope in the tree.

    Args:
        name: Registry name, e.g. ``'model'``.
        build_func: Function that builds an object from a config with this registry. Defaults to
            the parent's build function, or :func:`build_from_cfg` for a root.
        parent: The parent registry.
        scope: The scope of the registry; inferred from the package that creates it when None.
        locations: Modules to import (once, on the first lookup) so that their registrations
            happen.

    Examples:
        >>> TOYS = Registry('toy', scope='doc')
        >>> @TOYS.register_module()
        ... class Ball:
        ...     def __init__(self, size=1):
        ...         self.size = size
        >>> TOYS.build(dict(type='Ball', size=3)).size
        3
        >>> 'Ball' in TOYS, len(TOYS)
        (True, 1)
    """

    def __init__(self, name: str, build_func: Callable | None = None,
                 parent: Registry | None = None, scope: str | None = None,
                 locations: list = []) -> None:  # noqa: B006 - public signature
        from .build_functions import build_from_cfg
        if not isinstance(name, str):
            raise TypeError(f'Registry name must be a string, but got {type(name).__name__}.')
        self._name = name
        self._module_dict: dict[str, Any] = {}
        self._children: dict[str, Registry] = {}
        self._locations = list(locations)
        self._imported = False
        if scope is not None and not isinstance(scope, str):
            raise TypeError(f'scope must be a string or None, but got {type(scope).__name__}.')
        self._scope = scope if scope is not None else self.infer_scope()
        if parent is not None and not isinstance(parent, Registry):
            raise TypeError(f'parent must be a Registry or None, but got {type(parent).__name__}.')
        self.parent = parent
        if parent is not None:
            parent._add_child(self)
        if build_func is None:
            build_func = parent.build_func if parent is not None else build_from_cfg
        self.build_func = build_func

    def __len__(self) -> int:
        return len(self._module_dict)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def __repr__(self) -> str:
        from io import StringIO

        from rich.console import Console
        from rich.table import Table
        table = Table(title=f'Registry of {self._name}')
        table.add_column('Names', justify='left', style='cyan')
        table.add_column('Objects', justify='left', style='green')
        for key, obj in sorted(self._module_dict.items()):
            table.add_row(key, str(obj))
        buffer = StringIO()
        Console(file=buffer, width=120, color_system=None).print(table, end='')
        return buffer.getvalue()

    @staticmethod
    def infer_scope() -> str:
        """The top-level package of the code that creates the registry (``'mmdet'`` for
        ``mmdet/registry.py``)."""
        frame = sys._getframe(2)
        module = frame.f_globals.get('__name__', '__main__')
        return module.split('.')[0]

    @staticmethod
    def split_scope_key(key: str) -> tuple[str | None, str]:
        """Split ``'scope.Name'`` into ``('scope', 'Name')``; a plain name has no scope.

        Examples:
            >>> Registry.split_scope_key('mmdet.ResNet')
            ('mmdet', 'ResNet')
            >>> Registry.split_scope_key('ResNet')
            (None, 'ResNet')
        """
        scope, sep, rest = key.partition('.')
        return (scope, rest) if sep else (None, key)

    @property
    def name(self) -> str:
        """The registry's name."""
        return self._name

    @property
    def scope(self) -> str:
        """The registry's scope."""
        return self._scope

    @property
    def module_dict(self) -> dict[str, Any]:
        """The names registered directly in this registry."""
        return self._module_dict

    @property
    def children(self) -> dict[str, Registry]:
        """Child registries by scope."""
        return self._children

    @property
    def root(self) -> Registry:
        """The root of this registry's tree."""
        return self._get_root_registry()

    def _get_root_registry(self) -> Registry:
        node = self
        while node.parent is not None:
            node = node.parent
        return node

    def _add_child(self, registry: Registry) -> None:
        if registry.scope in self._children:
            raise KeyError(f'Registry {self._name!r} already has a child of scope '
                           f'{registry.scope!r}; scopes must be unique among siblings.')
        self._children[registry.scope] = registry

    def _search_child(self, scope: str) -> Registry | None:
        if self._scope == scope:
            return self
        for child in self._children.values():
            found = child._search_child(scope)
            if found is not None:
                return found
        return None

    @contextmanager
    def switch_scope_and_registry(self, scope: str | None) -> Generator[Registry, None, None]:
        """Temporarily set the default scope and yield the registry of that scope in this tree.

        Args:
            scope: The scope to switch to; ``None`` keeps the current default scope.

        Yields:
            The registry of the (new) default scope, or this registry when the tree has none.
        """
        with DefaultScope.overwrite_default_scope(scope):
            current = DefaultScope.get_current_instance()
            registry = self
            if current is not None and current.scope_name != self._scope:
                scope_name = current.scope_name
                _try_import(f'{scope_name}.registry')
                found = self._get_root_registry()._search_child(scope_name)
                if found is not None:
                    registry = found
            yield registry

    def import_from_location(self) -> None:
        """Import this registry's ``locations`` (once) so that their registrations happen."""
        if self._imported:
            return
        self._imported = True
        for location in self._locations:
            importlib.import_module(location)

    def get(self, key: str) -> Any:
        """Return the class or function registered as ``key``, or ``None`` when there is none.

        ``key`` may be a plain name (looked up here, then in the parents), a scoped name
        ``'scope.Name'`` (looked up in that scope's registry of this tree), or a dotted import
        path such as ``'torch.nn.Linear'``.
        """
        if not isinstance(key, str):
            raise TypeError(f'Registry keys are strings, but got {type(key).__name__}: {key!r}.')
        self.import_from_location()
        scope, real_key = self.split_scope_key(key)
        obj = None
        if scope is None or scope == self._scope:
            node: Registry | None = self
            while node is not None and obj is None:
                node.import_from_location()
                obj = node._module_dict.get(real_key)
                node = node.parent if scope is None else None
        else:
            _try_import(f'{scope}.registry')
            target = self._get_root_registry()._search_child(scope)
            if target is not None:
                obj = target.get(real_key)
        if obj is None and '.' in key:
            from ..utils.misc import get_object_from_string
            obj = get_object_from_string(key)
        return obj

    def _visible_names(self) -> list[str]:
        names: list[str] = []
        node: Registry | None = self
        while node is not None:
            names.extend(node._module_dict)
            node = node.parent
        return names

    def _missing_key_message(self, key: str) -> str:
        close = difflib.get_close_matches(key.rpartition('.')[2], self._visible_names(), n=3)
        hint = f' Did you mean {" or ".join(repr(c) for c in close)}?' if close else ''
        return (f'{key!r} is not registered in registry {self._name!r} (scope '
                f'{self._scope!r}).{hint} Register it with @{self._variable_name()}'
                f'.register_module() and make sure its module is imported, e.g. with '
                f'custom_imports=dict(imports=[...]) in the config or the registry\'s '
                f'`locations`.')

    def _variable_name(self) -> str:
        """The name mmengine's root registries give this tree (``MODELS``), for messages."""
        from . import root
        top = self._get_root_registry()
        return next((name for name in root.__all__ if getattr(root, name) is top),
                    f'<the {self._name!r} registry>')

    def build(self, cfg: dict, *args: Any, **kwargs: Any) -> Any:
        """Build an object from ``cfg`` with this registry's build function."""
        return self.build_func(cfg, *args, **kwargs, registry=self)

    def _register_module(self, module: Any, module_name: str | Iterable[str] | None = None,
                         force: bool = False) -> None:
        if not (inspect.isclass(module) or inspect.isfunction(module)):
            raise TypeError(f'Only classes and functions can be registered in registry '
                            f'{self._name!r}, but got {type(module).__name__}: {module!r}.')
        names = [module.__name__] if module_name is None else (
            [module_name] if isinstance(module_name, str) else list(module_name))
        for name in names:
            if not isinstance(name, str):
                raise TypeError(f'Registered names must be strings, but got {name!r}.')
            if not force and name in self._module_dict:
                existing = self._module_dict[name]
                raise KeyError(f'{name!r} is already registered in registry {self._name!r} '
                               f'(scope {self._scope!r}) as {existing!r}; cannot register '
                               f'{module!r} under the same name. Pass force=True to replace it.')
            self._module_dict[name] = module

    def register_module(self, name: str | list[str] | None = None, force: bool = False,
                        module: Any = None) -> Any:
        """Register a class or function, as a decorator or with ``module=``.

        Args:
            name: Name(s) to register under; defaults to the object's ``__name__``.
            force: Replace an object already registered under the same name.
            module: The object to register; when None a decorator is returned.

        Raises:
            TypeError: For a non-bool ``force``, a bad name, or an object that is neither a
                class nor a function.
            KeyError: When the name is taken and ``force`` is False.
        """
        if not isinstance(force, bool):
            raise TypeError(f'force must be a bool, but got {type(force).__name__}.')
        if not (name is None or isinstance(name, str) or
                (isinstance(name, (list, tuple)) and all(isinstance(n, str) for n in name))):
            raise TypeError(f'name must be None, a string or a list of strings, but got '
                            f'{name!r}.')
        if module is not None:
            self._register_module(module, name, force)
            return module

        def _register(obj: Any) -> Any:
            self._register_module(obj, name, force)
            return obj

        return _register


def _try_import(module_name: str) -> None:
    """Import a downstream project's registry module if it exists (so its scope is known)."""
    if module_name in sys.modules:
        return
    try:
        importlib.import_module(module_name)
    except ImportError:
        pass
    except Exception as exc:  # a broken downstream module should not hide the lookup result
        warnings.warn(f'Importing {module_name!r} failed: {exc!r}', stacklevel=3)
