"""Generic parameter schedulers: schedule any key of an optimizer's param groups.

Each class computes the new value from the current one (a chainable update, so overlapping
schedulers compose) and, where a closed formula exists, offers it as ``_get_closed_form``.
The values follow ``torch.optim.lr_scheduler`` where torch has the same schedule; the window
``[begin, end)`` replaces torch's ``total_iters`` (``total_iters = end - begin - 1``).
"""
from __future__ import annotations

import bisect
import math
from collections import Counter
from typing import Any

from mmengine.registry import PARAM_SCHEDULERS

from ._base import (
    INF,
    _ParamScheduler,
    epoch_length_checked,
    epochs_to_iters,
    eta_min_args,
    resolve_eta_min,
)
from ._special import (
    CosineRestartParamScheduler,
    OneCycleParamScheduler,
    ReduceOnPlateauParamScheduler,
)

__all__ = [
    'INF', '_ParamScheduler', 'StepParamScheduler', 'MultiStepParamScheduler',
    'ConstantParamScheduler', 'ExponentialParamScheduler', 'CosineAnnealingParamScheduler',
    'LinearParamScheduler', 'PolyParamScheduler', 'OneCycleParamScheduler',
    'CosineRestartParamScheduler', 'ReduceOnPlateauParamScheduler'
]


def _check_factor(name: str, arg: str, value: Any, allow_zero: bool = True) -> None:
    low_ok = value >= 0 if allow_zero else value > 0
    if not isinstance(value, int | float) or not low_ok or value > 1:
        bound = '[0, 1]' if allow_zero else '(0, 1]'
        raise ValueError(f'{name}: {arg} must be a multiplicative factor in {bound}, but got '
                         f'{value!r}.')


@PARAM_SCHEDULERS.register_module()
class StepParamScheduler(_ParamScheduler):
    """Multiply the value by ``gamma`` every ``step_size`` steps (torch's ``StepLR``).

    Args:
        optimizer: An optimizer or optimizer wrapper.
        param_name: The param-group key to schedule.
        step_size: Period of the decay, in steps of the scheduler.
        gamma: Multiplicative decay. Defaults to 0.1.
        begin, end, last_step, by_epoch, verbose: See :class:`_ParamScheduler`.

    Examples:
        >>> import torch
        >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        >>> scheduler = StepParamScheduler(opt, 'lr', step_size=2, gamma=0.5)
        >>> values = []
        >>> for _ in range(5):
        ...     values.append(opt.param_groups[0]['lr'])
        ...     scheduler.step()
        >>> values
        [1.0, 1.0, 0.5, 0.5, 0.25]
    """

    def __init__(self, optimizer: Any, param_name: str, step_size: int, gamma: float = 0.1,
                 begin: int = 0, end: int = INF, last_step: int = -1, by_epoch: bool = True,
                 verbose: bool = False) -> None:
        if not isinstance(step_size, int) or step_size <= 0:
            raise ValueError(f'{type(self).__name__}: step_size must be a positive integer, '
                             f'but got {step_size!r}.')
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, param_name, begin=begin, end=end, last_step=last_step,
                         by_epoch=by_epoch, verbose=verbose)

    @classmethod
    def build_iter_from_epoch(cls, *args: Any, step_size: int, begin: int = 0, end: int = INF,
                              by_epoch: bool = True, epoch_length: int | None = None,
                              **kwargs: Any) -> StepParamScheduler:
        """Build from epoch settings: ``step_size``, ``begin`` and ``end`` become iterations."""
        length = epoch_length_checked(cls, by_epoch, epoch_length)
        begin, end = epochs_to_iters(begin, end, length)
        return cls(*args, step_size=step_size * length, begin=begin, end=end, by_epoch=False,
                   **kwargs)

    def _get_value(self) -> list:
        if self.last_step == 0 or self.last_step % self.step_size != 0:
            return self._scaled(1)
        return self._scaled(self.gamma)

    def _get_closed_form(self) -> list:
        factor = self.gamma**(self.last_step // self.step_size)
        return [base * factor for base in self.base_values]


@PARAM_SCHEDULERS.register_module()
class MultiStepParamScheduler(_ParamScheduler):
    """Multiply the value by ``gamma`` at each milestone (torch's ``MultiStepLR``).

    Args:
        optimizer: An optimizer or optimizer wrapper.
        param_name: The param-group key to schedule.
        milestones: Steps (counted from ``begin``) at which to decay; a repeated milestone
            decays once per occurrence.
        gamma: Multiplicative decay. Defaults to 0.1.
        last_step, begin, end, by_epoch, verbose: See :class:`_ParamScheduler`.
    """

    def __init__(self, optimizer: Any, param_name: str, milestones: list[int],
                 gamma: float = 0.1, last_step: int = -1, begin: int = 0, end: int = INF,
                 by_epoch: bool = True, verbose: bool = False) -> None:
        if not isinstance(milestones, list | tuple) or not all(
                isinstance(m, int) and m >= 0 for m in milestones):
            raise ValueError(f'{type(self).__name__}: milestones must be a list of '
                             f'non-negative integers, but got {milestones!r}.')
        # A plain dict (not a Counter) keeps the state dict loadable with weights_only=True.
        self.milestones = dict(Counter(milestones))
        self.gamma = gamma
        super().__init__(optimizer, param_name, begin=begin, end=end, last_step=last_step,
                         by_epoch=by_epoch, verbose=verbose)

    @classmethod
    def build_iter_from_epoch(cls, *args: Any, milestones: list[int], begin: int = 0,
                              end: int = INF, by_epoch: bool = True,
                              epoch_length: int | None = None,
                              **kwargs: Any) -> MultiStepParamScheduler:
        """Build from epoch settings: ``milestones``, ``begin``, ``end`` become iterations."""
        length = epoch_length_checked(cls, by_epoch, epoch_length)
        begin, end = epochs_to_iters(begin, end, length)
        return cls(*args, milestones=[m * length for m in milestones], begin=begin, end=end,
                   by_epoch=False, **kwargs)

    def _get_value(self) -> list:
        return self._scaled(self.gamma**self.milestones.get(self.last_step, 0))

    def _get_closed_form(self) -> list:
        expanded = sorted(m for m, count in self.milestones.items() for _ in range(count))
        factor = self.gamma**bisect.bisect_right(expanded, self.last_step)
        return [base * factor for base in self.base_values]


@PARAM_SCHEDULERS.register_module()
class ConstantParamScheduler(_ParamScheduler):
    """Multiply the value by ``factor`` until the end of the window (torch's ``ConstantLR``).

    The factor applies from ``begin`` to ``end - 2``; at step ``end - 1`` the value returns
    to its unscaled level.

    Args:
        optimizer: An optimizer or optimizer wrapper.
        param_name: The param-group key to schedule.
        factor: Multiplicative factor in (0, 1]. Defaults to 1/3.
        begin, end, last_step, by_epoch, verbose: See :class:`_ParamScheduler`.
    """

    def __init__(self, optimizer: Any, param_name: str, factor: float = 1.0 / 3,
                 begin: int = 0, end: int = INF, last_step: int = -1, by_epoch: bool = True,
                 verbose: bool = False) -> None:
        _check_factor(type(self).__name__, 'factor', factor, allow_zero=False)
        self.factor = factor
        self.total_iters = end - begin - 1
        super().__init__(optimizer, param_name, begin=begin, end=end, last_step=last_step,
                         by_epoch=by_epoch, verbose=verbose)

    def _get_value(self) -> list:
        if self.last_step == 0:
            return self._scaled(self.factor)
        if self.last_step != self.total_iters:
            return self._scaled(1)
        return self._scaled(1.0 / self.factor)

    def _get_closed_form(self) -> list:
        factor = 1.0 if self.last_step >= self.total_iters else self.factor
        return [base * factor for base in self.base_values]


@PARAM_SCHEDULERS.register_module()
class ExponentialParamScheduler(_ParamScheduler):
    """Multiply the value by ``gamma`` every step (torch's ``ExponentialLR``).

    Args:
        optimizer: An optimizer or optimizer wrapper.
        param_name: The param-group key to schedule.
        gamma: Multiplicative decay per step.
        begin, end, last_step, by_epoch, verbose: See :class:`_ParamScheduler`.
    """

    def __init__(self, optimizer: Any, param_name: str, gamma: float, begin: int = 0,
                 end: int = INF, last_step: int = -1, by_epoch: bool = True,
                 verbose: bool = False) -> None:
        if not isinstance(gamma, int | float) or gamma <= 0:
            raise ValueError(f'{type(self).__name__}: gamma must be a positive number, but '
                             f'got {gamma!r}.')
        self.gamma = gamma
        super().__init__(optimizer, param_name, begin=begin, end=end, last_step=last_step,
                         by_epoch=by_epoch, verbose=verbose)

    @classmethod
    def build_iter_from_epoch(cls, *args: Any, begin: int = 0, end: int = INF,
                              by_epoch: bool = True, epoch_length: int | None = None,
                              **kwargs: Any) -> ExponentialParamScheduler:
        """Build from epoch settings; ``gamma`` (a keyword) becomes ``gamma**(1/epoch_length)``.

        The per-iteration factor makes the value at every epoch boundary equal to that of the
        epoch-based schedule.
        """
        length = epoch_length_checked(cls, by_epoch, epoch_length)
        if 'gamma' not in kwargs:
            raise TypeError(f'{cls.__name__}.build_iter_from_epoch needs gamma as a keyword '
                            f'argument so that it can be converted to a per-iteration factor.')
        kwargs['gamma'] = kwargs['gamma']**(1.0 / length)
        begin, end = epochs_to_iters(begin, end, length)
        return cls(*args, begin=begin, end=end, by_epoch=False, **kwargs)

    def _get_value(self) -> list:
        return self._scaled(1 if self.last_step == 0 else self.gamma)

    def _get_closed_form(self) -> list:
        return [base * self.gamma**self.last_step for base in self.base_values]


@PARAM_SCHEDULERS.register_module()
class CosineAnnealingParamScheduler(_ParamScheduler):
    r"""Cosine annealing from the initial value to ``eta_min`` (torch's ``CosineAnnealingLR``).

    Closed form: :math:`\eta_t = \eta_{min} + (\eta_{base} - \eta_{min})
    (1 + \cos(\pi t / T_{max})) / 2`, computed recursively from the current value so that it
    chains with other schedulers.

    Args:
        optimizer: An optimizer or optimizer wrapper.
        param_name: The param-group key to schedule.
        T_max: Steps of half a cosine period. Defaults to ``end - begin``.
        eta_min: Minimum value. Defaults to 0 when ``eta_min_ratio`` is not given.
        begin, end, last_step, by_epoch, verbose: See :class:`_ParamScheduler`.
        eta_min_ratio: Minimum as a ratio of the initial value, instead of ``eta_min``.
    """

    def __init__(self, optimizer: Any, param_name: str, T_max: int | None = None,
                 eta_min: float | None = None, begin: int = 0, end: int = INF,
                 last_step: int = -1, by_epoch: bool = True, verbose: bool = False,
                 eta_min_ratio: float | None = None) -> None:
        name = type(self).__name__
        self.eta_min, self.eta_min_ratio = eta_min_args(name, eta_min, eta_min_ratio)
        if T_max is None and end == INF:
            raise ValueError(f'{name} needs T_max or a finite end to know the length of the '
                             f'annealing, but got neither.')
        self.T_max = T_max if T_max is not None else end - begin
        if self.T_max <= 0:
            raise ValueError(f'{name}: T_max must be positive, but got {self.T_max!r}.')
        super().__init__(optimizer, param_name, begin=begin, end=end, last_step=last_step,
                         by_epoch=by_epoch, verbose=verbose)

    @classmethod
    def build_iter_from_epoch(cls, *args: Any, T_max: int | None = None, begin: int = 0,
                              end: int = INF, by_epoch: bool = True,
                              epoch_length: int | None = None,
                              **kwargs: Any) -> CosineAnnealingParamScheduler:
        """Build from epoch settings: ``T_max``, ``begin``, ``end`` become iterations."""
        length = epoch_length_checked(cls, by_epoch, epoch_length)
        begin, end = epochs_to_iters(begin, end, length)
        T_max = None if T_max is None else T_max * length
        return cls(*args, T_max=T_max, begin=begin, end=end, by_epoch=False, **kwargs)

    def _get_value(self) -> list:
        groups = self.optimizer.param_groups
        step, period = self.last_step, self.T_max
        if step == 0:
            return [group[self.param_name] for group in groups]
        values = []
        for base, group in zip(self.base_values, groups):
            eta_min = resolve_eta_min(self.eta_min, self.eta_min_ratio, base)
            current = group[self.param_name]
            if (step - 1 - period) % (2 * period) == 0:
                # At the bottom of the cosine the recursive ratio is 0/0; torch steps instead.
                values.append(current + (base - eta_min) * (1 - math.cos(math.pi / period)) / 2)
            else:
                ratio = ((1 + math.cos(math.pi * step / period)) /
                         (1 + math.cos(math.pi * (step - 1) / period)))
                values.append(ratio * (current - eta_min) + eta_min)
        return values

    def _get_closed_form(self) -> list:
        cosine = (1 + math.cos(math.pi * self.last_step / self.T_max)) / 2
        return [
            resolve_eta_min(self.eta_min, self.eta_min_ratio, base) +
            (base - resolve_eta_min(self.eta_min, self.eta_min_ratio, base)) * cosine
            for base in self.base_values
        ]


@PARAM_SCHEDULERS.register_module()
class LinearParamScheduler(_ParamScheduler):
    """Scale the value linearly from ``start_factor`` to ``end_factor`` (torch's ``LinearLR``).

    The factor reaches ``end_factor`` at step ``end - 1`` of the window, which makes it the
    usual warm-up: ``LinearLR(start_factor=0.001, by_epoch=False, begin=0, end=50)``.

    Args:
        optimizer: An optimizer or optimizer wrapper.
        param_name: The param-group key to schedule.
        start_factor: Factor at step ``begin``, in (0, 1]. Defaults to 1/3.
        end_factor: Factor at step ``end - 1``, in [0, 1]. Defaults to 1.0.
        begin, end, last_step, by_epoch, verbose: See :class:`_ParamScheduler`.
    """

    def __init__(self, optimizer: Any, param_name: str, start_factor: float = 1.0 / 3,
                 end_factor: float = 1.0, begin: int = 0, end: int = INF,
                 last_step: int = -1, by_epoch: bool = True, verbose: bool = False) -> None:
        _check_factor(type(self).__name__, 'start_factor', start_factor, allow_zero=False)
        _check_factor(type(self).__name__, 'end_factor', end_factor)
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = end - begin - 1
        super().__init__(optimizer, param_name, begin=begin, end=end, last_step=last_step,
                         by_epoch=by_epoch, verbose=verbose)

    def _get_value(self) -> list:
        if self.last_step == 0:
            return self._scaled(self.start_factor)
        slope = self.end_factor - self.start_factor
        previous = self.total_iters * self.start_factor + (self.last_step - 1) * slope
        return self._scaled(1.0 + slope / previous)

    def _get_closed_form(self) -> list:
        progress = min(self.total_iters, self.last_step) / max(self.total_iters, 1)
        factor = self.start_factor + (self.end_factor - self.start_factor) * progress
        return [base * factor for base in self.base_values]


@PARAM_SCHEDULERS.register_module()
class PolyParamScheduler(_ParamScheduler):
    r"""Polynomial decay to ``eta_min`` at the end of the window (torch's ``PolynomialLR``).

    Closed form: :math:`\eta_t = \eta_{min} + (\eta_{base} - \eta_{min})
    (1 - t / T)^{power}` with ``T = end - begin - 1``.

    Args:
        optimizer: An optimizer or optimizer wrapper.
        param_name: The param-group key to schedule.
        eta_min: Value reached at step ``end - 1``. Defaults to 0.
        power: Power of the polynomial. Defaults to 1.0.
        begin, end, last_step, by_epoch, verbose: See :class:`_ParamScheduler`.
    """

    def __init__(self, optimizer: Any, param_name: str, eta_min: float = 0,
                 power: float = 1.0, begin: int = 0, end: int = INF, last_step: int = -1,
                 by_epoch: bool = True, verbose: bool = False) -> None:
        self.eta_min = eta_min
        self.power = power
        self.total_iters = end - begin - 1
        super().__init__(optimizer, param_name, begin=begin, end=end, last_step=last_step,
                         by_epoch=by_epoch, verbose=verbose)

    def _get_value(self) -> list:
        groups = self.optimizer.param_groups
        if self.last_step == 0:
            return [group[self.param_name] for group in groups]
        factor = (1 - 1 / (self.total_iters - self.last_step + 1))**self.power
        return [(group[self.param_name] - self.eta_min) * factor + self.eta_min
                for group in groups]

    def _get_closed_form(self) -> list:
        progress = min(self.last_step, self.total_iters) / max(self.total_iters, 1)
        return [(base - self.eta_min) * (1 - progress)**self.power + self.eta_min
                for base in self.base_values]
