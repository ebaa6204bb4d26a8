"""Small models and a stand-in optimizer wrapper shared by the model tests."""
from __future__ import annotations

import importlib
import logging
from contextlib import contextmanager
from types import ModuleType

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmengine.model import BaseModel


def import_or_skip(name: str) -> ModuleType:
    """Import ``name`` or skip the test (sibling subpackages may still be in progress)."""
    try:
        return importlib.import_module(name)
    except Exception as exc:  # any failure: the module is not usable yet
        pytest.skip(f'{name} is not importable yet: {exc!r}')


class ListHandler(logging.Handler):
    """Collect formatted log messages."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


class StandInOptimWrapper:
    """The OptimWrapper interface train_step uses: optim_context and update_params.

    With ``accumulative_counts`` > 1 it steps every that many calls and enters the model's
    ``no_sync`` on the other ones, like MMEngine's OptimWrapper. ``grads`` records the
    gradients right after each backward.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, accumulative_counts: int = 1) -> None:
        self.optimizer = optimizer
        self.accumulative_counts = accumulative_counts
        self.count = 0
        self.events: list[str] = []
        self.grads: list[list[torch.Tensor]] = []

    def should_sync(self) -> bool:
        return (self.count + 1) % self.accumulative_counts == 0

    @contextmanager
    def optim_context(self, model: nn.Module):
        self.events.append('enter')
        if not self.should_sync() and hasattr(model, 'no_sync'):
            with model.no_sync():
                yield
        else:
            yield
        self.events.append('exit')

    def update_params(self, loss: torch.Tensor) -> None:
        self.events.append('update')
        (loss / self.accumulative_counts).backward()
        params = [p for group in self.optimizer.param_groups for p in group['params']]
        self.grads.append([None if p.grad is None else p.grad.detach().clone() for p in params])
        self.count += 1
        if self.count % self.accumulative_counts == 0:
            self.optimizer.step()
            self.optimizer.zero_grad()


class ToyModel(BaseModel):
    """Linear regression on dict batches ``{'inputs': x, 'data_samples': y}``."""

    def __init__(self, data_preprocessor=None, init_cfg=None) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.linear = nn.Linear(4, 2)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.linear(inputs)
        if mode == 'loss':
            return {'loss': F.mse_loss(out, data_samples, reduction='sum')}
        if mode == 'predict':
            return [out]
        return out


class MyAwesomeModel(BaseModel):
    """The tutorial's model (section 1)."""

    def __init__(self, layers=4, activation='relu') -> None:
        super().__init__()
        acts = {'relu': nn.ReLU, 'silu': nn.SiLU, 'none': nn.Identity}
        act_type = acts[activation]
        sequence = [nn.Linear(2, 64), act_type()]
        for _ in range(layers - 1):
            sequence.extend([nn.Linear(64, 64), act_type()])
        self.mlp = nn.Sequential(*sequence)
        self.classifier = nn.Linear(64, 2)

    def forward(self, data, labels, mode):
        x = self.classifier(self.mlp(data))
        if mode == 'tensor':
            return x
        if mode == 'predict':
            return F.softmax(x, dim=1), labels
        if mode == 'loss':
            return {'loss': F.cross_entropy(x, labels)}
