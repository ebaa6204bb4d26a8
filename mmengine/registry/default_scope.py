"""The default scope: which downstream project's registries a bare name refers to."""
from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from contextlib import contextmanager

from ..utils.manager import ManagerMixin


class DefaultScope(ManagerMixin):
    """A named global instance that records the current default scope.

    Registries consult :meth:`get_current_instance` when they build: an object registered in a
    child registry whose scope equals the default scope is found by its bare name.

    Args:
        name: Name of the instance.
        scope_name: The scope, e.g. ``'mmengine'`` or ``'mmdet'``.

    Examples:
        >>> scope = DefaultScope.get_instance('doc-scope', scope_name='mmengine')
        >>> DefaultScope.get_current_instance().scope_name
        'mmengine'
    """

    def __init__(self, name: str, scope_name: str) -> None:
        super().__init__(name)
        if not isinstance(scope_name, str):
            raise TypeError(f'scope_name must be a string, but got {type(scope_name).__name__}: '
                            f'{scope_name!r}.')
        self._scope_name = scope_name

    @property
    def scope_name(self) -> str:
        """The scope this instance stands for."""
        return self._scope_name

    @classmethod
    def get_current_instance(cls) -> DefaultScope | None:  # type: ignore[override]
        """Return the current default scope, or ``None`` when none was set."""
        if not cls._instance_dict:
            return None
        return super().get_current_instance()

    @classmethod
    @contextmanager
    def overwrite_default_scope(cls, scope_name: str | None) -> Iterator[None]:
        """Temporarily make ``scope_name`` the default scope (no-op for ``None``)."""
        if scope_name is None:
            yield
            return
        saved = copy.copy(cls._instance_dict)
        cls.get_instance(f'overwrite-{time.time_ns()}', scope_name=scope_name)
        try:
            yield
        finally:
            cls._instance_dict.clear()
            cls._instance_dict.update(saved)
