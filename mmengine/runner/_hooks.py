"""Hook bookkeeping for the Runner: priority insertion, participation cache, dispatch, table.

Dispatch calls only the hooks whose class overrides a stage (or defines a custom stage), so a
hook that does not take part in a stage costs nothing there. The cache is rebuilt whenever the
hook list changes, so mutating ``runner.hooks`` stays correct.
"""
from __future__ import annotations

from typing import Any

from ..hooks import Hook
from ..registry import HOOKS
from .priority import Priority, get_priority

STAGES = (
    'before_run', 'after_load_checkpoint', 'before_train', 'before_train_epoch',
    'before_train_iter', 'after_train_iter', 'after_train_epoch', 'before_val',
    'before_val_epoch', 'before_val_iter', 'after_val_iter', 'after_val_epoch', 'after_val',
    'before_save_checkpoint', 'after_train', 'before_test', 'before_test_epoch',
    'before_test_iter', 'after_test_iter', 'after_test_epoch', 'after_test', 'after_run',
)

_class_stages: dict[type, frozenset[str]] = {}


def _overridden_stages(hook: Any) -> frozenset[str]:
    """The stages ``hook``'s class takes part in, cached per class.

    A ``Hook`` says so itself (``get_triggered_stages``: overridden stages, including those
    reached through the ``_before_iter``-style helpers); any other object takes part in the
    stages it defines.
    """
    hook_cls = type(hook)
    cached = _class_stages.get(hook_cls)
    if cached is None:
        if isinstance(hook, Hook):
            stages = set(hook.get_triggered_stages())
        else:
            stages = {name for name in STAGES if callable(getattr(hook_cls, name, None))}
        cached = _class_stages[hook_cls] = frozenset(stages)
    return cached


def participates(hook: Any, stage: str) -> bool:
    """Whether ``hook`` does something at ``stage`` (custom stage names included)."""
    if stage in vars(hook):  # a method patched onto the instance
        return True
    if stage not in STAGES:
        return callable(getattr(hook, stage, None))
    return stage in _overridden_stages(hook) and stage not in getattr(hook, '_idle_stages', ())


def priority_of(hook: Any) -> int:
    """The hook's priority value (from its ``priority`` attribute, NORMAL by default)."""
    return get_priority(getattr(hook, 'priority', Priority.NORMAL))


def _counted(name: str) -> Any:
    """``list.<name>``, also bumping the list's ``version``."""
    method = getattr(list, name)

    def mutate(self: _HookList, *args: Any, **kwargs: Any) -> Any:
        self.version += 1
        return method(self, *args, **kwargs)
    mutate.__name__ = name
    mutate.__doc__ = method.__doc__
    return mutate


class _HookList(list):
    """A list that counts its mutations, so the dispatch cache can tell it changed cheaply."""

    version = 0
    append = _counted('append')
    extend = _counted('extend')
    insert = _counted('insert')
    pop = _counted('pop')
    remove = _counted('remove')
    clear = _counted('clear')
    sort = _counted('sort')
    reverse = _counted('reverse')
    __setitem__ = _counted('__setitem__')
    __delitem__ = _counted('__delitem__')
    __iadd__ = _counted('__iadd__')
    __imul__ = _counted('__imul__')


class HookTable:
    """The runner's hooks in call order, with a per-stage cache of participating hooks."""

    def __init__(self) -> None:
        self.hooks: list[Any] = _HookList()
        self._version: tuple[int, int] = (-1, -1)
        self._by_stage: dict[str, tuple[Any, ...]] = {}

    def insert(self, hook: Any) -> None:
        """Insert after every hook of equal or higher priority (registration order on ties)."""
        value = priority_of(hook)
        position = next((index for index, other in enumerate(self.hooks)
                         if priority_of(other) > value), len(self.hooks))
        self.hooks.insert(position, hook)

    def for_stage(self, stage: str) -> tuple[Any, ...]:
        """The hooks that take part in ``stage``, in call order."""
        # Rebuilt when the list changes or a hook declares different idle stages.
        version = (self.hooks.version, Hook._idle_generation)  # type: ignore[attr-defined]
        if version != self._version:
            self._version = version
            self._by_stage.clear()
        found = self._by_stage.get(stage)
        if found is None:
            found = self._by_stage[stage] = tuple(h for h in self.hooks
                                                  if participates(h, stage))
        return found

    def call(self, runner: Any, stage: str, kwargs: dict[str, Any]) -> None:
        """Call ``stage`` on every participating hook; name the hook in a TypeError."""
        # Runs twice per training iteration: the cache hit of for_stage is inlined.
        hooks = None
        if self._version == (self.hooks.version, Hook._idle_generation):  # type: ignore[attr-defined]
            hooks = self._by_stage.get(stage)
        if hooks is None:
            hooks = self.for_stage(stage)
        # The method is looked up on each call (not cached) so that a method patched onto a
        # hook instance later, e.g. by a profiler, is still the one called.
        for hook in hooks:
            try:
                getattr(hook, stage)(runner, **kwargs)
            except TypeError as exc:
                raise TypeError(f'{exc} (raised in {type(hook).__name__}.{stage}; check that '
                                f'its signature matches Hook.{stage})') from exc

    def info(self) -> str:
        """A table of stages and the hooks called there, in order."""
        lines = []
        for stage in STAGES:
            hooks = self.for_stage(stage)
            if not hooks:
                continue
            lines.append(f'{stage}:')
            for hook in hooks:
                value = priority_of(hook)
                name = next((p.name for p in Priority if p.value == value), str(value))
                lines.append(f'({name:<12}) {type(hook).__name__}')
            lines.append(' -------------------- ')
        return '\n'.join(lines)


def build_hook(hook: Any, priority: int | str | Priority | None) -> Any:
    """Build a hook from a config dict (``priority`` key allowed) and apply ``priority``."""
    if isinstance(hook, dict):
        cfg = dict(hook)
        cfg_priority = cfg.pop('priority', None)
        hook = HOOKS.build(cfg)
        priority = priority if priority is not None else cfg_priority
    elif not hasattr(hook, 'before_run') and not any(callable(getattr(hook, s, None))
                                                     for s in STAGES):
        raise TypeError(f'A hook must be a Hook instance or a config dict, but got '
                        f'{type(hook).__name__}: {hook!r}.')
    if priority is not None:
        get_priority(priority)  # validate before assigning
        hook.priority = priority
    return hook
