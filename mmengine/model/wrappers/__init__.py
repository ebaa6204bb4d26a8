"""Model wrappers for distributed training."""
from __future__ import annotations

from typing import Any

from mmengine.registry import MODEL_WRAPPERS

from .distributed import MMDistributedDataParallel
from .seperate_distributed import MMSeparateDistributedDataParallel
from .utils import _FSDP_MODULE, is_model_wrapper


def _load_fsdp() -> type:
    """Import the FSDP wrapper module on first use (torch.distributed.fsdp is slow)."""
    import importlib
    return importlib.import_module(_FSDP_MODULE).MMFullyShardedDataParallel


@MODEL_WRAPPERS.register_module(name='MMFullyShardedDataParallel')
def _build_fsdp_wrapper(**kwargs: Any) -> Any:
    """Placeholder registered until the FSDP module is imported; it then replaces this."""
    return _load_fsdp()(**kwargs)


def __getattr__(name: str) -> Any:
    if name == 'MMFullyShardedDataParallel':
        return _load_fsdp()
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


__all__ = ['MMDistributedDataParallel', 'is_model_wrapper', 'MMSeparateDistributedDataParallel',
           'MMFullyShardedDataParallel']
