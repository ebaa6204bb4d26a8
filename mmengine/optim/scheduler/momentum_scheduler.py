"""Momentum schedulers: the generic schedulers with ``param_name='momentum'``.

For optimizers with ``betas`` (Adam, AdamW, ...) the momentum is ``betas[0]``: the scheduler
keeps a ``momentum`` entry in every param group and writes it back into ``betas[0]`` after
each step.
"""
from __future__ import annotations

from typing import Any

from mmengine.registry import PARAM_SCHEDULERS

from ._base import optimizer_defaults
from .param_scheduler import (
    ConstantParamScheduler,
    CosineAnnealingParamScheduler,
    CosineRestartParamScheduler,
    ExponentialParamScheduler,
    LinearParamScheduler,
    MultiStepParamScheduler,
    PolyParamScheduler,
    ReduceOnPlateauParamScheduler,
    StepParamScheduler,
)

__all__ = [
    'MomentumSchedulerMixin', 'ConstantMomentum', 'CosineAnnealingMomentum',
    'ExponentialMomentum', 'LinearMomentum', 'MultiStepMomentum', 'StepMomentum',
    'PolyMomentum', 'CosineRestartMomentum', 'ReduceOnPlateauMomentum'
]


class MomentumSchedulerMixin:
    """Schedule ``momentum``, or ``betas[0]`` for Adam-style optimizers.

    Raises:
        ValueError: If the optimizer has neither ``momentum`` nor ``betas``.

    Examples:
        >>> import torch
        >>> opt = torch.optim.Adam([torch.zeros(1, requires_grad=True)], betas=(0.9, 0.99))
        >>> scheduler = StepMomentum(opt, step_size=1, gamma=0.5)
        >>> scheduler.step()
        >>> opt.param_groups[0]['betas']
        (0.45, 0.99)
    """

    optimizer: Any

    def __init__(self, optimizer: Any, *args: Any, **kwargs: Any) -> None:
        defaults = optimizer_defaults(optimizer)
        self.use_betas = 'momentum' not in defaults and 'betas' in defaults
        if not self.use_betas and 'momentum' not in defaults:
            raise ValueError(f'{type(self).__name__} needs an optimizer with momentum or '
                             f'betas, but {type(optimizer).__name__} has neither (its '
                             f'defaults: {sorted(defaults)}).')
        if self.use_betas:
            for group in optimizer.param_groups:
                group['momentum'] = group['betas'][0]
        super().__init__(optimizer, 'momentum', *args, **kwargs)  # type: ignore[call-arg]

    def _sync_betas(self) -> None:
        if not self.use_betas:
            return
        for group in self.optimizer.param_groups:
            group['betas'] = (group['momentum'], *group['betas'][1:])

    def step(self) -> None:
        """Take a step of the schedule, then copy the momentum into ``betas[0]`` if used."""
        super().step()  # type: ignore[misc]
        self._sync_betas()


@PARAM_SCHEDULERS.register_module()
class ConstantMomentum(MomentumSchedulerMixin, ConstantParamScheduler):
    """:class:`ConstantParamScheduler` for the momentum."""


@PARAM_SCHEDULERS.register_module()
class CosineAnnealingMomentum(MomentumSchedulerMixin, CosineAnnealingParamScheduler):
    """:class:`CosineAnnealingParamScheduler` for the momentum."""


@PARAM_SCHEDULERS.register_module()
class ExponentialMomentum(MomentumSchedulerMixin, ExponentialParamScheduler):
    """:class:`ExponentialParamScheduler` for the momentum."""


@PARAM_SCHEDULERS.register_module()
class LinearMomentum(MomentumSchedulerMixin, LinearParamScheduler):
    """:class:`LinearParamScheduler` for the momentum."""


@PARAM_SCHEDULERS.register_module()
class MultiStepMomentum(MomentumSchedulerMixin, MultiStepParamScheduler):
    """:class:`MultiStepParamScheduler` for the momentum."""


@PARAM_SCHEDULERS.register_module()
class StepMomentum(MomentumSchedulerMixin, StepParamScheduler):
    """:class:`StepParamScheduler` for the momentum."""


@PARAM_SCHEDULERS.register_module()
class PolyMomentum(MomentumSchedulerMixin, PolyParamScheduler):
    """:class:`PolyParamScheduler` for the momentum."""


@PARAM_SCHEDULERS.register_module()
class CosineRestartMomentum(MomentumSchedulerMixin, CosineRestartParamScheduler):
    """:class:`CosineRestartParamScheduler` for the momentum."""


@PARAM_SCHEDULERS.register_module()
class ReduceOnPlateauMomentum(MomentumSchedulerMixin, ReduceOnPlateauParamScheduler):
    """:class:`ReduceOnPlateauParamScheduler` for the momentum."""

    def step(self, metrics: dict | None = None) -> None:  # type: ignore[override]
        """Count a step or judge the validation metrics, then sync ``betas[0]``."""
        ReduceOnPlateauParamScheduler.step(self, metrics)
        self._sync_betas()
