"""Schedulers with their own state machine: one-cycle, cosine with restarts, plateau."""
from __future__ import annotations

import math
from typing import Any

from mmengine.registry import PARAM_SCHEDULERS

from ._base import (
    INF,
    _ParamScheduler,
    epoch_length_checked,
    epochs_to_iters,
    eta_min_args,
    is_optimizer_like,
    resolve_eta_min,
)


def _anneal_cos(start: float, end: float, pct: float) -> float:
    return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)


def _anneal_linear(start: float, end: float, pct: float) -> float:
    return (end - start) * pct + start


_ANNEAL = {'cos': _anneal_cos, 'linear': _anneal_linear}


def _per_group(name: str, arg: str, optimizer: Any, value: Any) -> list:
    """Broadcast a scalar to every param group, or check a per-group list."""
    count = len(optimizer.param_groups)
    if not isinstance(value, list | tuple):
        return [value] * count
    if len(value) != count:
        raise ValueError(f'{name}: {arg} has {len(value)} values but the optimizer has '
                         f'{count} param groups; give one value per group or a scalar.')
    return list(value)


def _one_cycle_phases(param_name: str, pct_start: float, total: int,
                      three_phase: bool) -> list:
    """Return ``(end_step, start_key, end_key)`` for every phase, as torch's OneCycleLR."""
    initial, peak, low = f'initial_{param_name}', f'max_{param_name}', f'min_{param_name}'
    if three_phase:
        return [(float(pct_start * total) - 1, initial, peak),
                (float(2 * pct_start * total) - 2, peak, initial),
                (total - 1, initial, low)]
    return [(float(pct_start * total) - 1, initial, peak), (total - 1, peak, low)]


def _check_one_cycle(name: str, total_steps: Any, begin: int, end: int, pct_start: Any,
                     anneal_strategy: Any) -> int:
    """Validate the one-cycle arguments and return the number of steps of the cycle."""
    if total_steps is None:
        if end == INF:
            raise ValueError(f'{name} needs total_steps or a finite end to know the length '
                             f'of the cycle, but got neither.')
        total_steps = end - begin
    if not isinstance(total_steps, int) or total_steps <= 0:
        raise ValueError(f'{name}: total_steps must be a positive integer, but got '
                         f'{total_steps!r}.')
    if not isinstance(pct_start, int | float) or not 0 <= pct_start <= 1:
        raise ValueError(f'{name}: pct_start must be a number in [0, 1], but got '
                         f'{pct_start!r}.')
    if anneal_strategy not in _ANNEAL:
        raise ValueError(f"{name}: anneal_strategy must be 'cos' or 'linear', but got "
                         f'{anneal_strategy!r}.')
    return total_steps


@PARAM_SCHEDULERS.register_module()
class OneCycleParamScheduler(_ParamScheduler):
    """The 1cycle policy (torch's ``OneCycleLR`` without momentum cycling).

    The value rises from ``eta_max / div_factor`` to ``eta_max`` over ``pct_start`` of the
    cycle, then anneals to ``eta_max / div_factor / final_div_factor``; with
    ``three_phase=True`` it first returns to the initial value and then anneals. A new
    schedule (``last_step=-1``) overwrites ``initial_``, ``max_`` and ``min_{param_name}``
    in every param group.

    Args:
        optimizer: An optimizer or optimizer wrapper.
        param_name: The param-group key to schedule.
        eta_max: Peak value, a scalar or one per param group. Defaults to 0.
        total_steps: Steps in the cycle. Defaults to ``end - begin``. Stepping beyond it
            raises ``ValueError``, as in torch.
        pct_start: Fraction of the cycle spent rising. Defaults to 0.3.
        anneal_strategy: ``'cos'`` or ``'linear'``. Defaults to ``'cos'``.
        div_factor: ``initial = eta_max / div_factor``. Defaults to 25.
        final_div_factor: ``minimum = initial / final_div_factor``. Defaults to 1e4.
        three_phase: Use the three-phase variant. Defaults to False.
        begin, end, last_step, by_epoch, verbose: See :class:`_ParamScheduler`.
    """

    def __init__(self, optimizer: Any, param_name: str, eta_max: float | list = 0,
                 total_steps: int | None = None, pct_start: float = 0.3,
                 anneal_strategy: str = 'cos', div_factor: float = 25.,
                 final_div_factor: float = 1e4, three_phase: bool = False, begin: int = 0,
                 end: int = INF, last_step: int = -1, by_epoch: bool = True,
                 verbose: bool = False) -> None:
        name = type(self).__name__
        if not is_optimizer_like(optimizer):
            raise TypeError(f'{name} needs a torch.optim.Optimizer or an optimizer wrapper, '
                            f'but got {type(optimizer).__name__}.')
        self.total_steps = _check_one_cycle(name, total_steps, begin, end, pct_start,
                                            anneal_strategy)
        self.eta_max = eta_max
        self.div_factor = div_factor
        self.final_div_factor = final_div_factor
        self.anneal_strategy = anneal_strategy
        self._schedule_phases = _one_cycle_phases(param_name, pct_start, self.total_steps,
                                                  three_phase)
        if last_step == -1:
            peaks = _per_group(name, 'eta_max', optimizer, eta_max)
            for group, peak in zip(optimizer.param_groups, peaks):
                group[f'initial_{param_name}'] = peak / div_factor
                group[f'max_{param_name}'] = peak
                group[f'min_{param_name}'] = peak / div_factor / final_div_factor
        super().__init__(optimizer, param_name, begin=begin, end=end, last_step=last_step,
                         by_epoch=by_epoch, verbose=verbose)

    @classmethod
    def build_iter_from_epoch(cls, *args: Any, begin: int = 0, end: int = INF,
                              total_steps: int | None = None, by_epoch: bool = True,
                              epoch_length: int | None = None,
                              **kwargs: Any) -> OneCycleParamScheduler:
        """Build from epoch settings: ``total_steps``, ``begin``, ``end`` become iterations."""
        length = epoch_length_checked(cls, by_epoch, epoch_length)
        begin, end = epochs_to_iters(begin, end, length)
        total_steps = None if total_steps is None else total_steps * length
        return cls(*args, begin=begin, end=end, total_steps=total_steps, by_epoch=False,
                   **kwargs)

    def _get_value(self) -> list:
        step = self.last_step
        if step > self.total_steps:
            raise ValueError(f'{type(self).__name__} was stepped {step} times, but its cycle '
                             f'has total_steps={self.total_steps}. Increase total_steps or '
                             f'set end=begin+total_steps so the scheduler stops in time.')
        anneal = _ANNEAL[self.anneal_strategy]
        return [self._phase_value(group, step, anneal) for group in self.optimizer.param_groups]

    def _phase_value(self, group: dict, step: int, anneal: Any) -> float:
        start_step = 0.0
        last = len(self._schedule_phases) - 1
        for index, (end_step, start_key, end_key) in enumerate(self._schedule_phases):
            if step <= end_step or index == last:
                pct = (step - start_step) / (end_step - start_step)
                return anneal(group[start_key], group[end_key], pct)
            start_step = end_step
        raise RuntimeError('unreachable: the last phase always matches')


@PARAM_SCHEDULERS.register_module()
class CosineRestartParamScheduler(_ParamScheduler):
    r"""Cosine annealing with restarts (SGDR).

    The schedule is split into ``periods``; period ``i`` starts at ``base * restart_weights[i]``
    and anneals along half a cosine towards ``eta_min``:
    :math:`\eta = \eta_{min} + (w_i \eta_{base} - \eta_{min})(1 + \cos(\pi s / P_i)) / 2`
    with ``s`` the step inside the period. After the last period the value is kept.

    Args:
        optimizer: An optimizer or optimizer wrapper.
        param_name: The param-group key to schedule.
        periods: Length of each cosine period, in steps.
        restart_weights: Weight of the restart value of each period. Defaults to ``(1,)``.
        eta_min: Minimum value. Defaults to 0 when ``eta_min_ratio`` is not given.
        eta_min_ratio: Minimum as a ratio of the initial value, instead of ``eta_min``.
        begin, end, last_step, by_epoch, verbose: See :class:`_ParamScheduler`.
    """

    def __init__(self, optimizer: Any, param_name: str, periods: list[int],
                 restart_weights: list[float] | tuple = (1, ), eta_min: float | None = None,
                 eta_min_ratio: float | None = None, begin: int = 0, end: int = INF,
                 last_step: int = -1, by_epoch: bool = True, verbose: bool = False) -> None:
        name = type(self).__name__
        self.eta_min, self.eta_min_ratio = eta_min_args(name, eta_min, eta_min_ratio)
        if not isinstance(periods, list | tuple) or not all(
                isinstance(p, int) and p > 0 for p in periods):
            raise ValueError(f'{name}: periods must be a list of positive integers, but got '
                             f'{periods!r}.')
        if len(restart_weights) != len(periods):
            raise ValueError(f'{name}: restart_weights needs one weight per period, but got '
                             f'{len(restart_weights)} weights for {len(periods)} periods.')
        self.periods = list(periods)
        self.restart_weights = list(restart_weights)
        self.cumulative_periods = [sum(self.periods[:i + 1]) for i in range(len(periods))]
        super().__init__(optimizer, param_name, begin=begin, end=end, last_step=last_step,
                         by_epoch=by_epoch, verbose=verbose)

    @classmethod
    def build_iter_from_epoch(cls, *args: Any, periods: list[int], begin: int = 0,
                              end: int = INF, by_epoch: bool = True,
                              epoch_length: int | None = None,
                              **kwargs: Any) -> CosineRestartParamScheduler:
        """Build from epoch settings: ``periods``, ``begin``, ``end`` become iterations."""
        length = epoch_length_checked(cls, by_epoch, epoch_length)
        begin, end = epochs_to_iters(begin, end, length)
        return cls(*args, periods=[p * length for p in periods], begin=begin, end=end,
                   by_epoch=False, **kwargs)

    @staticmethod
    def get_position_from_periods(iteration: int, cumulative_periods: list[int]) -> int | None:
        """Return the index of the period containing ``iteration``, or None past the last.

        Examples:
            >>> CosineRestartParamScheduler.get_position_from_periods(5, [5, 10, 15])
            1
        """
        for index, period_end in enumerate(cumulative_periods):
            if iteration < period_end:
                return index
        return None

    def _get_value(self) -> list:
        groups = self.optimizer.param_groups
        index = self.get_position_from_periods(self.last_step, self.cumulative_periods)
        if index is None:
            return [group[self.param_name] for group in groups]
        restart = 0 if index == 0 else self.cumulative_periods[index - 1]
        period, step = self.periods[index], self.last_step - restart
        values = []
        for base, group in zip(self.base_values, groups):
            eta_min = resolve_eta_min(self.eta_min, self.eta_min_ratio, base)
            if step == 0:
                values.append(base * self.restart_weights[index])
                continue
            ratio = ((1 + math.cos(math.pi * step / period)) /
                     (1 + math.cos(math.pi * (step - 1) / period)))
            values.append(ratio * (group[self.param_name] - eta_min) + eta_min)
        return values


@PARAM_SCHEDULERS.register_module()
class ReduceOnPlateauParamScheduler(_ParamScheduler):
    """Reduce the value when a validation metric stops improving (``ReduceLROnPlateau``).

    ``step()`` (without metrics) only counts a step of the window; ``step(metrics)`` with the
    validation metrics dict checks ``metrics[monitor]``: after more than ``patience`` steps
    without improvement the value is multiplied by ``factor`` (not below ``min_value``), then
    ``cooldown`` steps are ignored. No step is taken on construction.

    Args:
        optimizer: An optimizer or optimizer wrapper.
        param_name: The param-group key to schedule.
        monitor: Key of the metric in the metrics dict. Defaults to ``'loss'``.
        rule: ``'less'`` (smaller is better) or ``'greater'``. Defaults to ``'less'``.
        factor: Multiplicative reduction, < 1. Defaults to 0.1.
        patience: Steps without improvement tolerated. Defaults to 10.
        threshold: Minimum change that counts as improvement. Defaults to 1e-4.
        threshold_rule: ``'rel'`` (relative to the best) or ``'abs'``. Defaults to ``'rel'``.
        cooldown: Steps to wait after a reduction. Defaults to 0.
        min_value: Lower bound, a scalar or one per param group. Defaults to 0.
        eps: Changes smaller than this are not applied. Defaults to 1e-8.
        begin, end, last_step, by_epoch, verbose: See :class:`_ParamScheduler`.
    """

    need_val_args = True

    def __init__(self, optimizer: Any, param_name: str, monitor: str = 'loss',
                 rule: str = 'less', factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_rule: str = 'rel', cooldown: int = 0,
                 min_value: float | list = 0., eps: float = 1e-8, begin: int = 0,
                 end: int = INF, last_step: int = -1, by_epoch: bool = True,
                 verbose: bool = False) -> None:
        name = type(self).__name__
        self._attach(optimizer, param_name, begin, end, last_step, by_epoch, verbose)
        if not 0 <= factor < 1.0:
            raise ValueError(f'{name}: factor must be in [0, 1) to reduce the value, but got '
                             f'{factor!r}.')
        if rule not in ('less', 'greater'):
            raise ValueError(f"{name}: rule must be 'less' or 'greater', but got {rule!r}.")
        if threshold_rule not in ('rel', 'abs'):
            raise ValueError(f"{name}: threshold_rule must be 'rel' or 'abs', but got "
                             f'{threshold_rule!r}.')
        self.min_values = _per_group(name, 'min_value', optimizer, min_value)
        self.monitor, self.rule, self.factor = monitor, rule, factor
        self.patience, self.threshold, self.threshold_rule = patience, threshold, threshold_rule
        self.cooldown, self.eps = cooldown, eps
        self.best = math.inf if rule == 'less' else -math.inf
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    def _is_better(self, current: float) -> bool:
        best, threshold = self.best, self.threshold
        if self.rule == 'less':
            bound = best * (1 - threshold) if self.threshold_rule == 'rel' else best - threshold
            return current < bound
        bound = best * (1 + threshold) if self.threshold_rule == 'rel' else best + threshold
        return current > bound

    def _get_value(self) -> list:
        return [max(group[self.param_name] * self.factor, low)
                for group, low in zip(self.optimizer.param_groups, self.min_values)]

    def step(self, metrics: dict | None = None) -> None:  # type: ignore[override]
        """Count a step (``metrics=None``) or judge the metrics of a validation.

        Args:
            metrics: The validation metrics; ``metrics[monitor]`` is compared with the best.

        Raises:
            TypeError: If ``metrics`` is not a dict.
            KeyError: If ``monitor`` is not in ``metrics``.
        """
        if metrics is None:
            self._global_step += 1
            return
        if not isinstance(metrics, dict):
            raise TypeError(f'{type(self).__name__}.step needs the metrics dict, but got '
                            f'{type(metrics).__name__}.')
        if self.begin <= self._global_step < self.end:
            if self.monitor not in metrics:
                raise KeyError(f'{type(self).__name__} monitors {self.monitor!r}, which is '
                               f'not among the metrics {sorted(metrics)}. Set monitor to one '
                               f'of them.')
            self.last_step += 1
            # Validation happens once per evaluation, so converting a tensor here is cheap.
            self._judge(float(metrics[self.monitor]))
        self._last_value = self._current_values()

    def _judge(self, current: float) -> None:
        if self._is_better(current):
            self.best, self.num_bad_epochs = current, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs during the cooldown do not count
        if self.num_bad_epochs <= self.patience:
            return
        groups = self.optimizer.param_groups
        for index, (group, value) in enumerate(zip(groups, self._get_value())):
            if group[self.param_name] - value > self.eps:
                group[self.param_name] = value
                self.print_value(self.verbose, index, value)
        self.cooldown_counter = self.cooldown
        self.num_bad_epochs = 0
