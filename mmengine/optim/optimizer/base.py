"""The abstract interface shared by every optimizer wrapper."""
from __future__ import annotations

from abc import ABCMeta, abstractmethod
from operator import itemgetter
from typing import Any

from torch.optim import Optimizer

_LR = itemgetter('lr')


class BaseOptimWrapper(metaclass=ABCMeta):
    """The interface an optimizer wrapper offers to models, hooks and the runner.

    A wrapper owns a ``torch.optim.Optimizer`` and adds a uniform parameter update protocol
    (``update_params`` = ``backward`` + ``step`` + ``zero_grad``) on top of it, so that a
    training step does not change when the training strategy (AMP, gradient accumulation,
    clipping, ...) does.

    Args:
        optimizer: The optimizer to wrap.
    """

    def __init__(self, optimizer: Optimizer) -> None:
        self.optimizer = optimizer
        # Settings of a parameter group with no parameters (some strategies shard every
        # parameter away); reported by ``get_lr`` as ``base_lr`` when set.
        self.base_param_settings: dict | None = None

    @abstractmethod
    def update_params(self, *args: Any, **kwargs: Any) -> None:
        """Compute gradients from a loss and update the parameters when due."""

    @abstractmethod
    def backward(self, loss: Any, **kwargs: Any) -> None:
        """Compute the gradients of ``loss``."""

    @abstractmethod
    def zero_grad(self, **kwargs: Any) -> None:
        """Clear the gradients of the wrapped parameters."""

    @abstractmethod
    def step(self, **kwargs: Any) -> None:
        """Update the parameters with their gradients."""

    def state_dict(self) -> dict:
        """Return the wrapped optimizer's state dict (plain data)."""
        return self.optimizer.state_dict()

    def load_state_dict(self, state_dict: dict) -> None:
        """Load a state dict produced by :meth:`state_dict`.

        Args:
            state_dict: The state to restore.
        """
        self.optimizer.load_state_dict(state_dict)

    @property
    def param_groups(self) -> list[dict]:
        """The wrapped optimizer's parameter groups (the same list object, so edits apply)."""
        return self.optimizer.param_groups

    @property
    def defaults(self) -> dict:
        """The wrapped optimizer's default hyper-parameters."""
        return self.optimizer.defaults

    def get_lr(self) -> dict[str, list[float]]:
        """Return the learning rate of every parameter group.

        Returns:
            ``{'lr': [lr of group 0, lr of group 1, ...]}``, plus ``'base_lr'`` when the
            wrapper carries settings of an empty parameter group.
        """
        result: dict[str, list[float]] = {}
        if self.base_param_settings is not None:
            result['base_lr'] = [self.base_param_settings['lr']]
        # Read before every training iteration: map/itemgetter run without a Python frame.
        result['lr'] = list(map(_LR, self.optimizer.param_groups))
        return result

    def get_momentum(self) -> dict[str, list[float]]:
        """Return the momentum of every parameter group.

        Adam-style optimizers report ``betas[0]``; optimizers without momentum report 0.

        Returns:
            ``{'momentum': [momentum of group 0, ...]}``.
        """
        momentum = []
        for group in self.param_groups:
            if 'momentum' in group:
                momentum.append(group['momentum'])
            elif 'betas' in group:
                momentum.append(group['betas'][0])
            else:
                momentum.append(0)
        return {'momentum': momentum}
