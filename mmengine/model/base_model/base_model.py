"""``BaseModel``: the train/val/test step contract the runner drives."""
from __future__ import annotations

from abc import abstractmethod
from collections import OrderedDict
from typing import Any

import torch
import torch.nn as nn

from mmengine.registry import MODELS

from .._steps import preprocessor_of, run_forward, train_step_through
from ..base_module import BaseModule
from .data_preprocessor import BaseDataPreprocessor, accelerator_device


def _mean_loss(name: str, value: Any) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value if value.dim() == 0 else value.mean()  # a 0-d mean is a copy
    if isinstance(value, (list, tuple)) and value and all(
            isinstance(v, torch.Tensor) for v in value):
        return sum(v.mean() for v in value)  # type: ignore[return-value]
    raise TypeError(f'Loss {name!r} must be a tensor or a list of tensors, but got '
                    f'{type(value).__name__}.')


class BaseModel(BaseModule):
    """Base class of models the runner trains: implements the train/val/test steps.

    Subclasses implement ``forward(inputs, data_samples=None, mode='tensor')`` where ``mode``
    is ``'loss'`` (return a dict of losses), ``'predict'`` (return predictions) or ``'tensor'``
    (return raw outputs).

    Args:
        data_preprocessor: A module, or a config dict built from ``MODELS``. Defaults to a
            ``BaseDataPreprocessor`` (moves the batch to the model's device).
        init_cfg: Weight initialization config (see ``BaseModule``).

    Raises:
        TypeError: If ``data_preprocessor`` is neither a module, a dict nor None.
    """

    def __init__(self, data_preprocessor: dict | nn.Module | None = None,
                 init_cfg: dict | list[dict] | None = None) -> None:
        super().__init__(init_cfg)
        if data_preprocessor is None:
            data_preprocessor = dict(type='BaseDataPreprocessor')
        if isinstance(data_preprocessor, nn.Module):
            self.data_preprocessor = data_preprocessor
        elif isinstance(data_preprocessor, dict):
            self.data_preprocessor = MODELS.build(data_preprocessor)
        else:
            raise TypeError(f'data_preprocessor must be an nn.Module, a config dict or None, '
                            f'but got {type(data_preprocessor).__name__}.')

    def train_step(self, data: dict | tuple | list, optim_wrapper: Any) -> dict[str, Any]:
        """Preprocess, compute the losses, update the parameters; return the log variables.

        Preprocessing and the forward pass run inside ``optim_wrapper.optim_context(self)``
        (autocast, and no gradient sync on accumulation steps); ``update_params`` (backward,
        step, zero_grad) runs after it.

        Returns:
            The ``log_vars`` of :meth:`parse_losses` (tensors; ``'loss'`` first).
        """
        return train_step_through(self, self, data, optim_wrapper)

    def val_step(self, data: dict | tuple | list) -> Any:
        """Preprocess (``training=False``) and return ``forward(mode='predict')``."""
        data = preprocessor_of(self)(data, False)
        return run_forward(self, data, mode='predict')

    def test_step(self, data: dict | tuple | list) -> Any:
        """Same as :meth:`val_step`."""
        data = preprocessor_of(self)(data, False)
        return run_forward(self, data, mode='predict')

    def parse_losses(self, losses: dict[str, Any]) -> tuple[torch.Tensor, OrderedDict]:
        """Sum the losses and collect what to log.

        Every entry is averaged (a list of tensors: the sum of their means); the total is the
        sum of the entries whose key contains ``'loss'``. Values stay (detached) tensors: they
        become numbers, averaged across ranks, only where they are logged, so no host-device
        sync happens here.

        Returns:
            ``(loss, log_vars)``: the total to back-propagate and an OrderedDict with the total
            under ``'loss'`` first, then every entry in order.

        Raises:
            TypeError: If ``losses`` is not a dict or holds a value that is not a tensor.
            ValueError: If no key contains ``'loss'``.
        """
        if not isinstance(losses, dict):
            raise TypeError(f'parse_losses expects the dict returned by forward(mode="loss"), '
                            f'but got {type(losses).__name__}.')
        if len(losses) == 1:  # the usual ``{'loss': tensor}``: no copies, no lists
            ((name, value),) = losses.items()
            if name == 'loss' and type(value) is torch.Tensor and value.dim() == 0:
                return value, OrderedDict(loss=value.detach())
        entries = [(name, _mean_loss(name, value)) for name, value in losses.items()]
        loss = None
        for name, value in entries:
            if 'loss' in name:
                loss = value if loss is None else loss + value
        if loss is None:
            raise ValueError(f'No key of the loss dict contains "loss", so there is nothing to '
                             f'optimize; got keys {list(losses)}.')
        log_vars = OrderedDict(loss=loss.detach())
        for name, value in entries:
            if name != 'loss':
                log_vars[name] = value.detach()
        return loss, log_vars

    def _set_device(self, device: torch.device) -> None:
        """Point every data preprocessor in the model at ``device``."""
        for module in self.modules():
            if isinstance(module, BaseDataPreprocessor):
                module._device = device

    def to(self, *args: Any, **kwargs: Any) -> nn.Module:
        """Like ``nn.Module.to``; the data preprocessor follows the device."""
        device = torch._C._nn._parse_to(*args, **kwargs)[0]
        if device is not None:
            self._set_device(torch.device(device))
        return super().to(*args, **kwargs)

    def _to_accelerator(self, kind: str, device: Any) -> nn.Module:
        target = accelerator_device(kind, device)
        self._set_device(target)
        return super().to(target)

    def cuda(self, device: int | str | torch.device | None = None) -> nn.Module:
        """Move to a CUDA device (the current one by default), preprocessor included."""
        return self._to_accelerator('cuda', device)

    def musa(self, device: int | str | torch.device | None = None) -> nn.Module:
        """Move to a MUSA device, preprocessor included."""
        return self._to_accelerator('musa', device)

    def mlu(self, device: int | str | torch.device | None = None) -> nn.Module:
        """Move to an MLU device, preprocessor included."""
        return self._to_accelerator('mlu', device)

    def npu(self, device: int | str | torch.device | None = None) -> nn.Module:
        """Move to an NPU device, preprocessor included."""
        return self._to_accelerator('npu', device)

    def cpu(self, *args: Any, **kwargs: Any) -> nn.Module:
        """Move to the CPU, preprocessor included."""
        self._set_device(torch.device('cpu'))
        return super().cpu()

    @abstractmethod
    def forward(self, inputs: torch.Tensor, data_samples: list | None = None,
                mode: str = 'tensor') -> Any:
        """Run the model; ``mode`` selects losses, predictions or raw tensors."""
