"""Activation checkpointing: recompute chosen submodules' activations in the backward pass."""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

import torch.nn as nn
from torch.utils.checkpoint import checkpoint


def wrap_forward(forward: Callable) -> Callable:
    """Wrap a bound ``forward`` so that its activations are recomputed during backward."""

    @wraps(forward)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return checkpoint(forward, *args, use_reentrant=False, **kwargs)

    return wrapper


def turn_on_activation_checkpointing(model: nn.Module, modules: list[str] | str) -> None:
    """Checkpoint the activations of the submodules named in ``modules``.

    Args:
        model: The model.
        modules: Qualified submodule names (``'backbone.layer1'``) or one name.

    Raises:
        KeyError: If a name is not a submodule of ``model``.
    """
    names = [modules] if isinstance(modules, str) else list(modules)
    available = dict(model.named_modules())
    for name in names:
        if name not in available:
            raise KeyError(f'{name!r} is not a submodule of {type(model).__name__}; '
                           f'available names include {sorted(available)[:10]}.')
        module = available[name]
        module.forward = wrap_forward(module.forward)
