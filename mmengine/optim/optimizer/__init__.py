"""Optimizer wrappers, optimizer registration and the optimizer wrapper constructors."""
from typing import Any

from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS, OPTIMIZERS

from .amp_optimizer_wrapper import AmpOptimWrapper
from .apex_optimizer_wrapper import ApexOptimWrapper
from .base import BaseOptimWrapper
from .builder import build_optim_wrapper
from .default_constructor import DefaultOptimWrapperConstructor
from .optimizer_wrapper import OptimWrapper
from .optimizer_wrapper_dict import OptimWrapperDict

# ZeroRedundancyOptimizer is resolved on first access: its base class lives in
# torch.distributed.optim, whose import costs seconds. It is left out of __all__ so that
# star imports do not trigger it.
_LAZY = ('ZeroRedundancyOptimizer',)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from . import zero_optimizer
        return getattr(zero_optimizer, name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


__all__ = [
    'OPTIM_WRAPPER_CONSTRUCTORS', 'OPTIMIZERS', 'DefaultOptimWrapperConstructor',
    'build_optim_wrapper', 'OptimWrapper', 'AmpOptimWrapper', 'ApexOptimWrapper',
    'OptimWrapperDict', 'BaseOptimWrapper'
]
