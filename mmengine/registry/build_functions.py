"""Build functions: turn a config dict into an object with a registry."""
from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

from ..utils.manager import ManagerMixin

if TYPE_CHECKING:
    from .registry import Registry


def _as_dict(cfg: Any, what: str) -> dict:
    """Return a shallow, mutable copy of ``cfg`` (a dict, ConfigDict or Config)."""
    if isinstance(cfg, dict):
        return dict(cfg)
    to_dict = getattr(type(cfg), 'to_dict', None)
    if to_dict is not None and type(cfg).__name__ == 'Config':
        return dict(cfg._cfg_dict)  # a Config wraps a ConfigDict
    raise TypeError(f'{what} must be a dict or ConfigDict, but got {type(cfg).__name__}: '
                    f'{cfg!r}.')


def _resolve_type(args: dict, registry: Registry, default_args: dict | None) -> Any:
    if 'type' not in args:
        raise KeyError(f'The config for registry {registry.name!r} must contain the key "type" '
                       f'(or default_args must), but got {args!r}.')
    obj_type = args.pop('type')
    if isinstance(obj_type, str):
        obj_cls = registry.get(obj_type)
        if obj_cls is None:
            raise KeyError(registry._missing_key_message(obj_type))
        return obj_cls
    if inspect.isclass(obj_type) or callable(obj_type):
        return obj_type
    raise TypeError(f'"type" must be a registered name, a class or a function, but got '
                    f'{type(obj_type).__name__}: {obj_type!r}.')


def _with_context(exc: BaseException, obj_cls: Any, registry: Registry) -> BaseException:
    """Return ``exc`` re-typed with the class and registry named, or itself with a note."""
    name = getattr(obj_cls, '__name__', repr(obj_cls))
    message = f'{name} (registry {registry.name!r}): {exc}'
    try:
        new = type(exc)(message)
    except Exception:  # exception types with unusual constructors
        if hasattr(exc, 'add_note'):
            exc.add_note(f'while building {name} with registry {registry.name!r}')
        return exc
    return new


def build_from_cfg(cfg: dict, registry: Registry, default_args: dict | None = None) -> Any:
    """Build an object from a config dict.

    Args:
        cfg: A dict with ``type`` (a registered name, scoped name, class or function) and the
            constructor's arguments. ``_scope_`` switches the default scope while building.
            The dict is not modified.
        registry: The registry to look ``type`` up in.
        default_args: Arguments used where ``cfg`` lacks them.

    Returns:
        The built object. Classes that mix in ``ManagerMixin`` are built with
        ``get_instance``.

    Raises:
        TypeError: If ``cfg`` or ``default_args`` is not a dict, or ``type`` has a bad type.
        KeyError: If ``type`` is missing or not registered.
    """
    args = _as_dict(cfg, 'cfg')
    if default_args is not None:
        for key, value in _as_dict(default_args, 'default_args').items():
            args.setdefault(key, value)
    scope = args.pop('_scope_', None)
    with registry.switch_scope_and_registry(scope) as scoped_registry:
        obj_cls = _resolve_type(args, scoped_registry, default_args)
        try:
            if inspect.isclass(obj_cls) and issubclass(obj_cls, ManagerMixin):
                return obj_cls.get_instance(**args)
            return obj_cls(**args)
        except Exception as exc:
            new = _with_context(exc, obj_cls, scoped_registry)
            if new is exc:
                raise
            raise new.with_traceback(exc.__traceback__) from exc


def build_model_from_cfg(cfg: dict | list, registry: Registry,
                         default_args: dict | None = None) -> Any:
    """Build a model; a list of configs becomes an ``mmengine.model.Sequential`` of them."""
    if isinstance(cfg, list):
        from ..model import Sequential
        return Sequential(*[build_from_cfg(c, registry, default_args) for c in cfg])
    return build_from_cfg(cfg, registry, default_args)


def build_runner_from_cfg(cfg: dict, registry: Registry) -> Any:
    """Build a runner from a full config: ``runner_type`` names the class (default
    ``'Runner'``) and the class's ``from_cfg`` builds it."""
    args = _as_dict(cfg, 'cfg')
    scope = args.get('default_scope')
    with registry.switch_scope_and_registry(scope) as scoped_registry:
        runner_type = args.get('runner_type', 'Runner')
        runner_cls = scoped_registry.get(runner_type) if isinstance(runner_type, str) \
            else runner_type
        if runner_cls is None:
            raise KeyError(scoped_registry._missing_key_message(runner_type))
        return runner_cls.from_cfg(cfg)


def build_optimizer_from_cfg(cfg: dict, registry: Registry,
                             default_args: dict | None = None) -> Any:
    """Build an optimizer (kept as its own entry point for compatibility)."""
    return build_from_cfg(cfg, registry, default_args)


def build_scheduler_from_cfg(cfg: dict, registry: Registry,
                             default_args: dict | None = None) -> Any:
    """Build a parameter scheduler; ``convert_to_iter_based=True`` builds it with
    ``build_iter_from_epoch`` using ``epoch_length`` (from ``cfg`` or ``default_args``)."""
    args = _as_dict(cfg, 'cfg')
    if default_args is not None:
        for key, value in _as_dict(default_args, 'default_args').items():
            args.setdefault(key, value)
    if not args.pop('convert_to_iter_based', False):
        args.pop('epoch_length', None)
        return build_from_cfg(args, registry)
    epoch_length = args.pop('epoch_length', None)
    if epoch_length is None:
        raise ValueError(f'convert_to_iter_based=True needs epoch_length (the number of '
                         f'iterations per epoch), but the scheduler config {cfg!r} has none. '
                         f'The Runner passes it from the train dataloader.')
    scope = args.pop('_scope_', None)
    with registry.switch_scope_and_registry(scope) as scoped_registry:
        obj_cls = _resolve_type(args, scoped_registry, None)
        return obj_cls.build_iter_from_epoch(**args, epoch_length=epoch_length)
