"""Run a config with a do-nothing model to record how its schedulers change lr and momentum.

The runner, hooks and models live in higher layers, so everything here imports them lazily;
``ToyModel`` is created on first access.
"""
from __future__ import annotations

from typing import Any
from unittest.mock import patch


def _build_toy_model_class() -> type:
    import torch
    from torch import nn

    from mmengine.model import BaseModel

    class ToyModel(BaseModel):
        """A one-parameter model whose loss is always zero."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__()
            self.linear = nn.Linear(1, 1)

        def forward(self, *args: Any, **kwargs: Any) -> dict:
            return {'loss': torch.tensor(0.0)}

    ToyModel.__module__ = __name__
    return ToyModel


_toy_model_class: type | None = None


def __getattr__(name: str) -> Any:
    global _toy_model_class
    if name == 'ToyModel':
        if _toy_model_class is None:
            _toy_model_class = _build_toy_model_class()
        return _toy_model_class
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


def update_params_step(self: Any, loss: Any) -> None:
    """Replacement of ``OptimWrapper.update_params`` that leaves the parameters alone."""


def runtimeinfo_step(self: Any, runner: Any, batch_idx: int, data_batch: Any = None) -> None:
    """Replacement of ``RuntimeInfoHook.before_train_iter`` recording lr and momentum."""
    runner.message_hub.update_info('iter', runner.iter)
    for name, values in runner.optim_wrapper.get_lr().items():
        runner.message_hub.update_scalar(f'train/{name}', values[0])
    for name, values in runner.optim_wrapper.get_momentum().items():
        runner.message_hub.update_scalar(f'train/{name}', values[0])


_DROPPED_KEYS = ('model', 'visualizer', 'val_dataloader', 'val_evaluator', 'val_cfg',
                 'test_dataloader', 'test_evaluator', 'test_cfg')


def fake_run(cfg: Any) -> None:
    """Train ``cfg`` with :class:`ToyModel` and frozen parameters, recording the schedules.

    Validation and testing are removed; the optimizer never steps, but the parameter
    schedulers run, and the learning rate and momentum of every iteration go to the message
    hub (and so to the visualizer's backends).

    Args:
        cfg: A training config (``mmengine.Config``); it is modified in place.
    """
    from mmengine.hooks import RuntimeInfoHook
    from mmengine.optim import OptimWrapper
    from mmengine.runner import Runner

    for key in _DROPPED_KEYS:
        cfg.pop(key, None)
    train_cfg = cfg.get('train_cfg') or {}
    for key in ('val_interval', 'val_begin'):  # validation was removed above
        train_cfg.pop(key, None)
    cfg['model'] = __getattr__('ToyModel')()
    with patch('torch.cuda.is_available', lambda: False), \
            patch.object(OptimWrapper, 'update_params', update_params_step), \
            patch.object(RuntimeInfoHook, 'before_train_iter', runtimeinfo_step):
        runner = Runner.from_cfg(cfg)
        runner.train()
