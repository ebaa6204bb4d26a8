"""``is_model_wrapper``: whether a module is a registered model wrapper (DDP, FSDP, ...)."""
from __future__ import annotations

import importlib
import sys

import torch.nn as nn

from mmengine.registry import MODEL_WRAPPERS, Registry

_FSDP_MODULE = 'mmengine.model.wrappers.fully_sharded_distributed'


def _register_fsdp_if_loaded() -> None:
    """Register torch's FSDP once torch.distributed.fsdp is loaded (it is slow to import,
    so it is only registered when someone else already paid for it)."""
    if 'torch.distributed.fsdp' in sys.modules and _FSDP_MODULE not in sys.modules:
        importlib.import_module(_FSDP_MODULE)


def is_model_wrapper(model: nn.Module, registry: Registry = MODEL_WRAPPERS) -> bool:
    """Return whether ``model`` is an instance of a wrapper registered in ``registry``.

    The registry's children (downstream projects' wrapper registries) are searched too.

    Args:
        model: The module to check.
        registry: The wrapper registry. Defaults to ``MODEL_WRAPPERS``.
    """
    _register_fsdp_if_loaded()
    wrappers = tuple(cls for cls in registry.module_dict.values() if isinstance(cls, type))
    if wrappers and isinstance(model, wrappers):
        return True
    return any(is_model_wrapper(model, child) for child in registry.children.values())
