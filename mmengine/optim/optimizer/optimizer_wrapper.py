"""OptimWrapper: the standard single-precision parameter update with accumulation and clipping."""
from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import torch
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.optim import Optimizer

from mmengine.logging import MessageHub, print_log
from mmengine.registry import OPTIM_WRAPPERS

from .base import BaseOptimWrapper

_NO_CONTEXT = nullcontext()

_CLIP_FUNCS: dict[str, tuple[Callable, str]] = {
    'norm': (torch.nn.utils.clip_grad_norm_, 'grad_norm'),
    'value': (torch.nn.utils.clip_grad_value_, 'grad_value'),
}


def _parse_clip_grad(clip_grad: dict) -> tuple[Callable, str, dict]:
    """Return ``(clip function, message hub name, its keyword arguments)`` for ``clip_grad``.

    ``type`` defaults to ``'norm'``, except that a config giving only ``clip_value`` (as the
    tutorial writes it) means value clipping.
    """
    if not isinstance(clip_grad, dict):
        raise TypeError(f'clip_grad must be a dict such as dict(max_norm=1.0) or '
                        f"dict(type='value', clip_value=0.5), but got "
                        f'{type(clip_grad).__name__}: {clip_grad!r}.')
    kwargs = dict(clip_grad)
    default = 'value' if 'clip_value' in kwargs and 'max_norm' not in kwargs else 'norm'
    clip_type = kwargs.pop('type', default)
    if clip_type not in _CLIP_FUNCS:
        raise ValueError(f"clip_grad['type'] must be one of {sorted(_CLIP_FUNCS)}, but got "
                         f'{clip_type!r}.')
    if not kwargs:
        raise ValueError(f'clip_grad needs the arguments of its clip function (max_norm for '
                         f"'norm', clip_value for 'value'), but got {clip_grad!r}.")
    func, name = _CLIP_FUNCS[clip_type]
    return func, name, kwargs


def _has_batch_norm(model: nn.Module) -> bool:
    return any(isinstance(module, _BatchNorm) for module in model.modules())


@OPTIM_WRAPPERS.register_module()
class OptimWrapper(BaseOptimWrapper):
    """Wrap an optimizer with gradient accumulation and gradient clipping.

    ``update_params(loss)`` runs ``backward`` on every call and ``step`` + ``zero_grad`` once
    every ``accumulative_counts`` calls. ``backward`` divides the loss by the number of
    iterations accumulated into the coming update, so an accumulated update equals one step on
    the mean loss of the bigger batch. After :meth:`initialize_count_status` the last,
    incomplete window is divided by its real size.

    Args:
        optimizer: The optimizer to wrap.
        accumulative_counts: Number of iterations whose gradients make one update. Defaults
            to 1.
        clip_grad: Gradient clipping before each update: ``dict(max_norm=..., norm_type=2)``
            uses ``torch.nn.utils.clip_grad_norm_`` (the norm is recorded in the current
            ``MessageHub`` as ``train/grad_norm``); ``dict(type='value', clip_value=...)``
            uses ``torch.nn.utils.clip_grad_value_``. Defaults to None (no clipping).

    Examples:
        >>> import torch.nn as nn
        >>> from torch.optim import SGD
        >>> wrapper = OptimWrapper(SGD(nn.Linear(1, 1).parameters(), lr=0.01))
        >>> wrapper.get_lr()
        {'lr': [0.01]}
    """

    def __init__(self, optimizer: Optimizer, accumulative_counts: int = 1,
                 clip_grad: dict | None = None) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f'optimizer must be a torch.optim.Optimizer, but got '
                            f'{type(optimizer).__name__}. Build it first, or pass a config to '
                            f'build_optim_wrapper.')
        if isinstance(accumulative_counts, bool) or not isinstance(accumulative_counts, int) \
                or accumulative_counts < 1:
            raise ValueError(f'accumulative_counts must be a positive int, but got '
                             f'{accumulative_counts!r}.')
        super().__init__(optimizer)
        self._accumulative_counts = accumulative_counts
        self._inner_count = 0
        self._max_counts = -1  # unknown until initialize_count_status
        self._remainder_counts = -1
        self.clip_grad_kwargs: dict = {}
        if clip_grad is not None:
            self.clip_func, self.grad_name, self.clip_grad_kwargs = _parse_clip_grad(clip_grad)

    def update_params(self, loss: torch.Tensor, step_kwargs: dict | None = None,
                      zero_kwargs: dict | None = None) -> None:
        """Back-propagate ``loss`` and, when an update is due, step and clear the gradients.

        Args:
            loss: The loss of this iteration (not yet divided for accumulation).
            step_kwargs: Keyword arguments for :meth:`step`. Defaults to None.
            zero_kwargs: Keyword arguments for :meth:`zero_grad`. Defaults to None.
        """
        self.backward(loss)
        if self.should_update():
            self.step(**(step_kwargs or {}))
            self.zero_grad(**(zero_kwargs or {}))

    def backward(self, loss: torch.Tensor, **kwargs: Any) -> None:
        """Divide ``loss`` by the accumulation window size and back-propagate it.

        Args:
            loss: The loss of this iteration.
            **kwargs: Passed to ``loss.backward``.
        """
        # Without accumulation the default scale_loss is the identity: skip the call.
        if self._accumulative_counts != 1 or type(self).scale_loss is not _SCALE_LOSS:
            loss = self.scale_loss(loss)
        self._backward_scaled(loss, **kwargs)
        self._inner_count += 1

    def _backward_scaled(self, loss: torch.Tensor, **kwargs: Any) -> None:
        """Back-propagate a loss already divided for accumulation (AMP scales it further)."""
        loss.backward(**kwargs)

    def zero_grad(self, **kwargs: Any) -> None:
        """Clear the gradients (``optimizer.zero_grad(**kwargs)``)."""
        self.optimizer.zero_grad(**kwargs)

    def step(self, **kwargs: Any) -> None:
        """Clip the gradients if configured, then ``optimizer.step(**kwargs)``."""
        if self.clip_grad_kwargs:
            self._clip_grad()
        self.optimizer.step(**kwargs)

    def optim_context(self, model: nn.Module) -> AbstractContextManager:
        """Context for the forward pass of ``model``.

        On accumulation iterations that do not update, the gradient all-reduce of a
        distributed model is skipped (``model.no_sync()``): only the last backward of a window
        needs synchronized gradients. Otherwise it is an empty context (a shared one: this
        runs every iteration, and a generator-based context costs several microseconds).

        Args:
            model: The model (possibly wrapped in DistributedDataParallel) run inside.
        """
        if self._accumulative_counts != 1 and not self.should_sync():
            no_sync = getattr(model, 'no_sync', None)
            if callable(no_sync):
                return no_sync()
        return _NO_CONTEXT

    def initialize_count_status(self, model: nn.Module, init_counts: int,
                                max_counts: int) -> None:
        """Set the iteration counter (after resuming) and the total number of iterations.

        Knowing ``max_counts`` lets the last, incomplete accumulation window divide its losses
        by its real size: 10 iterations with ``accumulative_counts=4`` divide the last 2
        losses by 2.

        Args:
            model: The trained model (used to warn about BatchNorm with accumulation).
            init_counts: Iterations already done.
            max_counts: Total number of training iterations.
        """
        self._inner_count = init_counts
        self._max_counts = max_counts
        if init_counts % self._accumulative_counts != 0:
            print_log(f'Resumed at iteration {init_counts}, which is not a multiple of '
                      f'accumulative_counts={self._accumulative_counts}; the first update '
                      f'after resuming accumulates fewer iterations.', logger='current',
                      level=logging.WARNING)
        if self._accumulative_counts > 1 and _has_batch_norm(model):
            print_log('The model has BatchNorm layers, whose statistics see only the small '
                      'per-iteration batch under gradient accumulation; results may differ '
                      'slightly from training with the large batch.', logger='current',
                      level=logging.WARNING)
        self._remainder_counts = max_counts % self._accumulative_counts

    def should_update(self) -> bool:
        """Whether the parameters are updated after the backward just done."""
        return (self._inner_count % self._accumulative_counts == 0
                or self._inner_count == self._max_counts)

    def should_sync(self) -> bool:
        """Whether the coming backward must synchronize gradients across ranks."""
        coming = self._inner_count + 1
        return coming % self._accumulative_counts == 0 or coming == self._max_counts

    def scale_loss(self, loss: torch.Tensor) -> torch.Tensor:
        """Divide ``loss`` by the number of iterations accumulated into the coming update.

        Args:
            loss: The loss of the coming backward.

        Returns:
            The divided loss.
        """
        if self._accumulative_counts == 1:
            return loss
        if self._max_counts == -1 or self._remainder_counts == 0 or \
                self._inner_count < self._max_counts - self._remainder_counts:
            return loss / self._accumulative_counts
        return loss / self._remainder_counts

    @property
    def inner_count(self) -> int:
        """The number of backward passes done (restored by ``initialize_count_status``)."""
        return self._inner_count

    def _clip_grad(self) -> None:
        """Clip the gradients; record the norm (a tensor: no host sync) in the MessageHub."""
        params = [param for group in self.optimizer.param_groups for param in group['params']
                  if param.requires_grad and param.grad is not None]
        if not params:
            return
        grad = self.clip_func(params, **self.clip_grad_kwargs)
        if grad is not None:  # clip_grad_value_ returns nothing
            MessageHub.get_current_instance().update_scalar(f'train/{self.grad_name}', grad)

    def __repr__(self) -> str:
        return (f'Type: {type(self).__name__}\n'
                f'_accumulative_counts: {self._accumulative_counts}\n'
                f'optimizer: \n{self.optimizer!r}\n')


_SCALE_LOSS = OptimWrapper.scale_loss
