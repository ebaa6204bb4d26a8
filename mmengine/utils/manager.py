"""Named global instances: ``ManagerMixin`` and its metaclass.

A class that mixes in :class:`ManagerMixin` keeps a table of its instances by name.
``get_instance(name, **kwargs)`` creates the instance on first use and returns it afterwards;
``get_current_instance()`` returns the most recently created or fetched one.

Tests reset a class's table with ``cls._instance_dict.clear()`` (the autouse fixture in
``tests/conftest.py`` does this for the engine's managers).
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

_lock = threading.RLock()


class ManagerMeta(type):
    """Metaclass that gives each managed class its own instance table.

    It also checks that ``name`` is accepted by the class's ``__init__`` so that instances can
    be fetched by name.
    """

    def __init__(cls, *args: Any) -> None:
        cls._instance_dict = OrderedDict()
        params = cls.__init__.__code__.co_varnames[:cls.__init__.__code__.co_argcount]
        if 'name' not in params and cls.__init__ is not object.__init__:
            raise TypeError(f'{cls.__name__}.__init__ must accept a `name` argument to be '
                            'managed by ManagerMeta.')
        super().__init__(*args)


class ManagerMixin(metaclass=ManagerMeta):
    """Mixin that makes a class's instances retrievable by name from anywhere.

    Args:
        name: The instance's name; it must be a string.

    Examples:
        >>> class Store(ManagerMixin):
        ...     def __init__(self, name='', value=0):
        ...         super().__init__(name)
        ...         self.value = value
        >>> a = Store.get_instance('store-doc', value=3)
        >>> Store.get_instance('store-doc') is a
        True
        >>> Store.get_current_instance().value
        3
    """

    _instance_dict: OrderedDict

    def __init__(self, name: str = '', **kwargs: Any) -> None:
        if not isinstance(name, str):
            raise TypeError(f'The instance name must be a string, but got {type(name).__name__}: '
                            f'{name!r}.')
        self._instance_name = name

    @classmethod
    def get_instance(cls, name: str, **kwargs: Any) -> Any:
        """Return the instance called ``name``, creating it with ``kwargs`` if it is new.

        Args:
            name: Name of the instance.
            **kwargs: Constructor arguments, used only when the instance is created. If the
                instance exists they are ignored with a warning.

        Returns:
            The named instance, which also becomes the current one.
        """
        with _lock:
            if not isinstance(name, str):
                raise TypeError(f'The instance name must be a string, but got '
                                f'{type(name).__name__}: {name!r}.')
            instance_dict = cls._instance_dict
            if name not in instance_dict:
                instance = cls(name=name, **kwargs)  # type: ignore[call-arg]
                instance_dict[name] = instance
            elif kwargs:
                import warnings
                warnings.warn(f'{cls.__name__} instance {name!r} already exists; the arguments '
                              f'{sorted(kwargs)} are ignored.', stacklevel=2)
            # Moving the fetched instance to the end makes it the current one.
            instance_dict.move_to_end(name)
            return instance_dict[name]

    @classmethod
    def get_current_instance(cls) -> Any:
        """Return the most recently created or fetched instance.

        Raises:
            RuntimeError: If no instance has been created yet.
        """
        with _lock:
            if not cls._instance_dict:
                raise RuntimeError(f'No {cls.__name__} instance has been created yet. Create one '
                                   f'with {cls.__name__}.get_instance(name) first.')
            return next(reversed(cls._instance_dict.values()))

    @classmethod
    def check_instance_created(cls, name: str) -> bool:
        """Whether an instance called ``name`` exists."""
        return name in cls._instance_dict

    @property
    def instance_name(self) -> str:
        """The name the instance was created with."""
        return self._instance_name
