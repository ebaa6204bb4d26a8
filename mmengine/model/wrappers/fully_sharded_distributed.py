"""``MMFullyShardedDataParallel``: torch FSDP with the BaseModel step interface.

Importing this module imports ``torch.distributed.fsdp`` (slow), so ``mmengine.model`` loads
it only on first use: through ``mmengine.model.MMFullyShardedDataParallel`` or by building
``type='MMFullyShardedDataParallel'`` from ``MODEL_WRAPPERS``.
"""
from __future__ import annotations

import functools
from typing import Any, Callable

import torch
import torch.nn as nn
from torch.distributed.fsdp import (
    BackwardPrefetch,
    CPUOffload,
    FullyShardedDataParallel,
    MixedPrecision,
    ShardingStrategy,
)

from mmengine.registry import FUNCTIONS, MODEL_WRAPPERS

from .._steps import run_forward, train_step_through

MODEL_WRAPPERS.register_module(module=FullyShardedDataParallel, force=True)


def _enum(value: Any, enum_cls: type, what: str) -> Any:
    if isinstance(value, str):
        try:
            return enum_cls[value.upper()]
        except KeyError:
            raise ValueError(f'{what} must be one of {[m.name for m in enum_cls]}, but got '
                             f'{value!r}.') from None
    return value


def _function(value: Any, what: str) -> Callable | None:
    """A callable from a callable, a registered name, or a dict ``type`` + partial args."""
    if value is None or callable(value):
        return value
    cfg = {'type': value} if isinstance(value, str) else dict(value)
    func = cfg.pop('type')
    if isinstance(func, str):
        found = FUNCTIONS.get(func)
        if found is None:
            raise KeyError(f'{what} {func!r} is not registered in FUNCTIONS; register it with '
                           f'@FUNCTIONS.register_module() or pass the callable.')
        func = found
    return functools.partial(func, **cfg) if cfg else func


def _mixed_precision(value: Any) -> MixedPrecision | None:
    if value is None or isinstance(value, MixedPrecision):
        return value
    if not isinstance(value, dict):
        raise TypeError(f'mixed_precision must be a MixedPrecision or a dict, but got '
                        f'{type(value).__name__}.')
    fields = {key: getattr(torch, val) if isinstance(val, str) else val
              for key, val in value.items()}
    return MixedPrecision(**fields)


def _cpu_offload(value: Any) -> CPUOffload | None:
    if isinstance(value, bool):
        return CPUOffload(offload_params=value)
    if isinstance(value, dict):
        return CPUOffload(**value)
    return value


@MODEL_WRAPPERS.register_module(force=True)
class MMFullyShardedDataParallel(FullyShardedDataParallel):
    """FSDP for a ``BaseModel``-like module; config-friendly arguments.

    ``sharding_strategy`` and ``backward_prefetch`` accept enum names (``'FULL_SHARD'``),
    ``cpu_offload`` a bool or dict, ``mixed_precision`` a dict whose dtypes may be strings,
    ``auto_wrap_policy`` and ``param_init_fn`` a callable, a name registered in ``FUNCTIONS``
    or a dict with ``type`` and partial arguments. The steps run the forward pass through
    FSDP (so parameters are gathered) inside ``optim_wrapper.optim_context(self)``.
    """

    def __init__(self, module: nn.Module, process_group: Any = None,
                 sharding_strategy: str | ShardingStrategy | None = None,
                 cpu_offload: bool | dict | CPUOffload | None = None,
                 auto_wrap_policy: str | dict | Callable | None = None,
                 backward_prefetch: str | BackwardPrefetch | None = None,
                 mixed_precision: dict | MixedPrecision | None = None,
                 param_init_fn: str | dict | Callable | None = None,
                 use_orig_params: bool = True, **kwargs: Any) -> None:
        super().__init__(
            module, process_group=process_group,
            sharding_strategy=_enum(sharding_strategy, ShardingStrategy, 'sharding_strategy'),
            cpu_offload=_cpu_offload(cpu_offload),
            auto_wrap_policy=_function(auto_wrap_policy, 'auto_wrap_policy'),
            backward_prefetch=_enum(backward_prefetch, BackwardPrefetch, 'backward_prefetch'),
            mixed_precision=_mixed_precision(mixed_precision),
            param_init_fn=_function(param_init_fn, 'param_init_fn'),
            use_orig_params=use_orig_params, **kwargs)

    def train_step(self, data: dict | tuple | list, optim_wrapper: Any) -> dict[str, Any]:
        """One training iteration through FSDP; returns the module's ``log_vars``."""
        return train_step_through(self.module, self, data, optim_wrapper)

    def val_step(self, data: dict | tuple | list) -> Any:
        """Predict through FSDP (the module's own ``val_step`` would see shards)."""
        data = self.module.data_preprocessor(data, training=False)
        return run_forward(self, data, mode='predict')

    def test_step(self, data: dict | tuple | list) -> Any:
        """Same as :meth:`val_step`."""
        return self.val_step(data)
