"""``MMDistributedDataParallel``: DDP with the BaseModel train/val/test step interface."""
from __future__ import annotations

from typing import Any

import torch.nn as nn
from torch.nn.parallel import DataParallel, DistributedDataParallel

from mmengine.registry import MODEL_WRAPPERS

from .._steps import train_step_through

# torch's own wrappers count as model wrappers too (``is_model_wrapper`` is true for them).
MODEL_WRAPPERS.register_module(module=DistributedDataParallel)
MODEL_WRAPPERS.register_module(module=DataParallel)


@MODEL_WRAPPERS.register_module()
class MMDistributedDataParallel(DistributedDataParallel):
    """``DistributedDataParallel`` for a ``BaseModel``-like module.

    ``train_step`` preprocesses and runs the forward pass through this wrapper inside
    ``optim_wrapper.optim_context(self)`` (which enters ``no_sync()`` on gradient-accumulation
    steps, so gradients are all-reduced only on the step that updates), then parses the
    losses with the module's ``parse_losses`` and calls ``optim_wrapper.update_params``.
    ``val_step`` and ``test_step`` are the module's own (no gradient sync is involved).

    Args:
        module: The model to wrap; it must provide ``data_preprocessor`` and
            ``parse_losses`` (like ``BaseModel``).
        detect_anomalous_params: Log the parameters absent from the loss's autograd graph on
            every training step (slow; for debugging unused-parameter errors).
        **kwargs: Passed to ``DistributedDataParallel``.
    """

    def __init__(self, module: nn.Module, detect_anomalous_params: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(module=module, **kwargs)
        self.detect_anomalous_params = detect_anomalous_params

    def train_step(self, data: dict | tuple | list, optim_wrapper: Any) -> dict[str, Any]:
        """One training iteration through DDP; returns the module's ``log_vars``."""
        return train_step_through(self.module, self, data, optim_wrapper,
                                  check_graph=self.detect_anomalous_params)

    def val_step(self, data: dict | tuple | list) -> Any:
        """The module's ``val_step``."""
        return self.module.val_step(data)

    def test_step(self, data: dict | tuple | list) -> Any:
        """The module's ``test_step``."""
        return self.module.test_step(data)
