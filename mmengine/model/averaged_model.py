"""Averaged copies of a model's weights: EMA, momentum-annealed EMA and SWA."""
from __future__ import annotations

import copy
import logging
from abc import ABCMeta, abstractmethod
from typing import Any

import torch
import torch.nn as nn

from mmengine.logging import print_log
from mmengine.registry import MODELS


class BaseAveragedModel(nn.Module, metaclass=ABCMeta):
    """A frozen copy of a model whose weights track an average of the source model's.

    Call :meth:`update_parameters` after each optimizer step. The first call copies the
    source weights; later calls, every ``interval`` steps, apply :meth:`avg_func` to each
    floating-point entry. Without ``update_buffers`` the buffers (e.g. BN statistics) are
    copied from the source every call. The ``steps`` buffer counts the calls and is saved in
    the state dict.

    Args:
        model: The model to average; it is deep-copied, so its own weights are untouched.
        interval: Average every ``interval`` calls. Defaults to 1.
        device: Where to keep the copy. Defaults to the model's device.
        update_buffers: Average the buffers too instead of copying them.
    """

    def __init__(self, model: nn.Module, interval: int = 1,
                 device: torch.device | str | None = None,
                 update_buffers: bool = False) -> None:
        super().__init__()
        if not isinstance(interval, int) or interval < 1:
            raise ValueError(f'interval must be a positive int, but got {interval!r}.')
        self.module = copy.deepcopy(model).requires_grad_(False)
        self.interval = interval
        if device is not None:
            self.module = self.module.to(device)
        self.register_buffer('steps', torch.tensor(0, dtype=torch.long, device=device))
        # A host-side mirror of ``steps``: reading the buffer each iteration would
        # synchronize with the device.
        self._step_count = 0
        self.update_buffers = update_buffers
        self.avg_parameters = (self.module.state_dict() if update_buffers else
                               dict(self.module.named_parameters()))

    @abstractmethod
    def avg_func(self, averaged_param: torch.Tensor, source_param: torch.Tensor,
                 steps: int) -> None:
        """Update ``averaged_param`` in place from ``source_param`` at step ``steps``."""

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """Run the averaged copy."""
        return self.module(*args, **kwargs)

    @torch.no_grad()
    def update_parameters(self, model: nn.Module) -> None:
        """Fold the current weights of ``model`` (same architecture) into the average."""
        source = model.state_dict() if self.update_buffers else dict(model.named_parameters())
        steps = self._step_count
        if steps == 0:
            for key, averaged in self.avg_parameters.items():
                averaged.copy_(source[key].detach().to(averaged.device))
        elif steps % self.interval == 0:
            for key, averaged in self.avg_parameters.items():
                if averaged.dtype.is_floating_point:
                    self.avg_func(averaged, source[key].detach().to(averaged.device), steps)
        if not self.update_buffers:
            for averaged_buf, source_buf in zip(self.module.buffers(), model.buffers()):
                averaged_buf.copy_(source_buf.to(averaged_buf.device))
        self.steps += 1
        self._step_count += 1

    def _load_from_state_dict(self, state_dict: dict, prefix: str, *args: Any) -> None:
        super()._load_from_state_dict(state_dict, prefix, *args)
        # Load time only: syncing the host mirror here is fine.
        self._step_count = int(self.steps)


@MODELS.register_module()
class StochasticWeightAverage(BaseAveragedModel):
    """Stochastic Weight Averaging: the running mean of the weights seen every ``interval``."""

    def avg_func(self, averaged_param: torch.Tensor, source_param: torch.Tensor,
                 steps: int) -> None:
        """``averaged += (source - averaged) / (number of averaged snapshots)``."""
        averaged_param.add_(source_param - averaged_param,
                            alpha=1 / float(steps // self.interval + 1))


@MODELS.register_module()
class ExponentialMovingAverage(BaseAveragedModel):
    """Exponential moving average: ``averaged = (1 - momentum) * averaged + momentum * source``.

    ``momentum`` is the weight of the new value (MMEngine's convention, the opposite of the
    "decay" some libraries use), so it is small: 0.0002 by default.

    Args:
        model: The model to average.
        momentum: Weight of the source model's value in each update, in (0, 1).
        interval: Update every ``interval`` calls.
        device: Where to keep the copy.
        update_buffers: Average the buffers too.

    Raises:
        ValueError: If ``momentum`` is not in (0, 1).
    """

    def __init__(self, model: nn.Module, momentum: float = 0.0002, interval: int = 1,
                 device: torch.device | str | None = None,
                 update_buffers: bool = False) -> None:
        super().__init__(model, interval, device, update_buffers)
        if not 0.0 < momentum < 1.0:
            raise ValueError(f'momentum must be in (0, 1), but got {momentum}.')
        if momentum > 0.5:
            print_log(f'EMA momentum {momentum} > 0.5: in MMEngine momentum is the weight of '
                      f'the NEW value (averaged = (1 - momentum) * averaged + momentum * '
                      f'source); you may mean {1 - momentum}.', logger='current',
                      level=logging.WARNING)
        self.momentum = momentum

    def avg_func(self, averaged_param: torch.Tensor, source_param: torch.Tensor,
                 steps: int) -> None:
        """``averaged = (1 - momentum) * averaged + momentum * source``."""
        averaged_param.lerp_(source_param, self.momentum)


@MODELS.register_module()
class MomentumAnnealingEMA(ExponentialMovingAverage):
    """EMA whose momentum starts high and anneals: ``max(momentum, gamma / (gamma + steps))``.

    Args:
        model: The model to average.
        momentum: The final (minimum) momentum.
        gamma: Controls the annealing speed; must be positive. Defaults to 100.
        interval: Update every ``interval`` calls.
        device: Where to keep the copy.
        update_buffers: Average the buffers too.
    """

    def __init__(self, model: nn.Module, momentum: float = 0.0002, gamma: int = 100,
                 interval: int = 1, device: torch.device | str | None = None,
                 update_buffers: bool = False) -> None:
        super().__init__(model, momentum, interval, device, update_buffers)
        if gamma <= 0:
            raise ValueError(f'gamma must be positive, but got {gamma}.')
        self.gamma = gamma

    def avg_func(self, averaged_param: torch.Tensor, source_param: torch.Tensor,
                 steps: int) -> None:
        """EMA update with momentum ``max(momentum, gamma / (gamma + steps))``."""
        momentum = max(self.momentum, self.gamma / (self.gamma + steps))
        averaged_param.lerp_(source_param, momentum)
