"""mmengine.optim: optimizer wrappers, their constructors and parameter schedulers."""
from typing import Any

from .optimizer import *  # noqa: F401,F403
from .scheduler import *  # noqa: F401,F403


def __getattr__(name: str) -> Any:
    # Names the optimizer subpackage resolves on first access (ZeroRedundancyOptimizer).
    from . import optimizer
    if name in optimizer._LAZY:
        return getattr(optimizer, name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


def __dir__() -> list[str]:
    from . import optimizer
    return sorted([*globals(), *optimizer._LAZY])
