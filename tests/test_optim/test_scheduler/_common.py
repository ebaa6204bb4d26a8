"""Shared helpers of the scheduler tests: toy optimizers and value recording."""
from __future__ import annotations

import torch


def sgd(lr: float = 0.05, momentum: float = 0.9, weight_decay: float = 5e-4,
        second_lr: float | None = 0.01) -> torch.optim.SGD:
    """An SGD optimizer with two param groups (the second with its own lr when given)."""
    model = torch.nn.Linear(2, 2)
    groups: list[dict] = [{'params': [model.weight]}]
    if second_lr is not None:
        groups.append({'params': [model.bias], 'lr': second_lr})
    return torch.optim.SGD(groups, lr=lr, momentum=momentum, weight_decay=weight_decay)


def adam(betas: tuple = (0.9, 0.999)) -> torch.optim.Adam:
    model = torch.nn.Linear(2, 2)
    return torch.optim.Adam(model.parameters(), lr=0.01, betas=betas)


def values(optimizer, key: str = 'lr') -> list:
    return [group[key] for group in optimizer.param_groups]


def record(optimizer, schedulers: list, steps: int, key: str = 'lr') -> list[list]:
    """Values of every group before each of ``steps`` steps of all ``schedulers``."""
    history = []
    for _ in range(steps):
        history.append(values(optimizer, key))
        for scheduler in schedulers:
            scheduler.step()
    return history


class FakeWrapper:
    """The duck type of an optimizer wrapper: ``optimizer`` and ``param_groups``."""

    def __init__(self, optimizer: torch.optim.Optimizer) -> None:
        self.optimizer = optimizer

    @property
    def param_groups(self) -> list:
        return self.optimizer.param_groups

    @property
    def defaults(self) -> dict:
        return self.optimizer.defaults
