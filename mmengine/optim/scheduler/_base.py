"""The base class of every parameter scheduler and the epoch-to-iteration conversion."""
from __future__ import annotations

import copy
from typing import Any

from torch.optim import Optimizer

INF = int(1e9)


def is_optimizer_like(obj: Any) -> bool:
    """Return True for a torch optimizer or an optimizer wrapper.

    An optimizer wrapper (``OptimWrapper`` and friends) is recognised by duck typing: it has
    an ``optimizer`` attribute and ``param_groups``. Checking the wrapper class itself would
    make this module depend on the optimizer-wrapper modules.
    """
    if isinstance(obj, Optimizer):
        return True
    return hasattr(obj, 'optimizer') and hasattr(obj, 'param_groups')


def optimizer_defaults(optimizer: Any) -> dict:
    """Return the ``defaults`` dict of a torch optimizer or of the one inside a wrapper."""
    raw = optimizer
    while not isinstance(raw, Optimizer) and hasattr(raw, 'optimizer'):
        raw = raw.optimizer
    defaults = getattr(raw, 'defaults', None)
    if isinstance(defaults, dict):
        return defaults
    return dict(optimizer.param_groups[0]) if optimizer.param_groups else {}


def _check_window(name: str, begin: int, end: int, last_step: int, by_epoch: bool) -> None:
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (begin, end)):
        raise TypeError(f'{name}: begin and end must be numbers of epochs or iterations, but '
                        f'got begin={begin!r}, end={end!r}.')
    if end <= begin:
        raise ValueError(f'{name}: end must be larger than begin, but got begin={begin}, '
                         f'end={end}. The scheduler is active in [begin, end).')
    if not isinstance(last_step, int) or last_step < -1:
        raise ValueError(f'{name}: last_step must be an integer >= -1 (-1 starts a new '
                         f'schedule), but got {last_step!r}.')
    if not isinstance(by_epoch, bool):
        raise TypeError(f'{name}: by_epoch must be a bool, but got '
                        f'{type(by_epoch).__name__}: {by_epoch!r}.')


def _initial_values(name: str, optimizer: Any, param_name: str, last_step: int) -> list:
    """Record ``initial_{param_name}`` in every group (new schedule) or read it (resume)."""
    key = f'initial_{param_name}'
    for index, group in enumerate(optimizer.param_groups):
        if last_step == -1:
            if param_name not in group:
                raise KeyError(f'{name}: param_groups[{index}] has no {param_name!r} to '
                               f'schedule; its keys are {sorted(group)}. Choose one of them '
                               f'as param_name.')
            group.setdefault(key, group[param_name])
        elif key not in group:
            raise KeyError(f'{name}: {key!r} is not in param_groups[{index}], so the schedule '
                           f'cannot resume from last_step={last_step}. Load the optimizer '
                           f'state first or pass last_step=-1.')
    return [group[key] for group in optimizer.param_groups]


def epoch_length_checked(cls: type, by_epoch: bool, epoch_length: Any) -> int:
    """Validate the arguments of ``build_iter_from_epoch`` and return ``epoch_length``."""
    if not by_epoch:
        raise ValueError(f'{cls.__name__}.build_iter_from_epoch converts an epoch-based '
                         f'schedule, but got by_epoch=False. Build the class directly for an '
                         f'iteration-based schedule.')
    if not isinstance(epoch_length, int) or isinstance(epoch_length, bool) or epoch_length <= 0:
        raise ValueError(f'{cls.__name__}.build_iter_from_epoch needs epoch_length, the '
                         f'positive number of iterations per epoch, but got {epoch_length!r}.')
    return epoch_length


def epochs_to_iters(begin: int, end: int, epoch_length: int) -> tuple[int, int]:
    """Convert an epoch window ``[begin, end)`` to iterations; an infinite end stays INF."""
    return int(begin * epoch_length), end if end == INF else int(end * epoch_length)


def eta_min_args(name: str, eta_min: float | None, eta_min_ratio: float | None
                  ) -> tuple[float | None, float | None]:
    """Default ``eta_min`` to 0 when neither bound is given; reject both at once."""
    if eta_min is None and eta_min_ratio is None:
        return 0.0, None
    if eta_min is not None and eta_min_ratio is not None:
        raise ValueError(f'{name}: give either eta_min or eta_min_ratio, not both (got '
                         f'eta_min={eta_min!r}, eta_min_ratio={eta_min_ratio!r}).')
    return eta_min, eta_min_ratio


def resolve_eta_min(eta_min: float | None, eta_min_ratio: float | None,
                    base_value: float) -> float:
    """Return the absolute minimum: ``eta_min`` or ``base_value * eta_min_ratio``."""
    return base_value * eta_min_ratio if eta_min is None else eta_min


class _ParamScheduler:
    """Base class of the schedulers that adjust one key of an optimizer's param groups.

    A scheduler is active in the window ``[begin, end)`` of its own step count, measured in
    epochs (``by_epoch=True``) or iterations. It takes one step on construction (step 0) and
    one per :meth:`step` call. Outside the window it leaves the value untouched, so gaps
    between schedulers keep the last value. Inside the window it computes the new value from
    the current one (a chainable update), so overlapping schedulers compose in the order they
    step, like ``torch.optim.lr_scheduler.ChainedScheduler``.

    Args:
        optimizer: A ``torch.optim.Optimizer`` or an optimizer wrapper (any object with
            ``optimizer`` and ``param_groups``).
        param_name: The param-group key to schedule, e.g. ``'lr'``, ``'momentum'``,
            ``'weight_decay'``. Its starting value is stored as ``initial_{param_name}``.
        begin: First step (inclusive) on which the scheduler acts. Defaults to 0.
        end: Step (exclusive) after which it stops acting. Defaults to INF.
        last_step: The index of the last step taken; -1 starts a new schedule. Defaults to -1.
        by_epoch: Whether steps are epochs (True) or iterations (False). Defaults to True.
        verbose: Log every value change. Defaults to False.

    Raises:
        TypeError: If ``optimizer`` is neither an optimizer nor a wrapper.
        ValueError: If ``end <= begin`` or ``last_step < -1``.
        KeyError: If a param group lacks ``param_name`` (or ``initial_{param_name}`` when
            resuming with ``last_step >= 0``).
    """

    # True for schedulers whose step() needs the validation metrics (ReduceOnPlateau).
    need_val_args = False

    def __init__(self, optimizer: Any, param_name: str, begin: int = 0, end: int = INF,
                 last_step: int = -1, by_epoch: bool = True, verbose: bool = False) -> None:
        self._attach(optimizer, param_name, begin, end, last_step, by_epoch, verbose)
        self.step()

    def _attach(self, optimizer: Any, param_name: str, begin: int, end: int, last_step: int,
                by_epoch: bool, verbose: bool) -> None:
        """Validate and store the common arguments; does not take the first step."""
        name = type(self).__name__
        if not is_optimizer_like(optimizer):
            raise TypeError(f'{name} needs a torch.optim.Optimizer or an optimizer wrapper, '
                            f'but got {type(optimizer).__name__}.')
        _check_window(name, begin, end, last_step, by_epoch)
        self.optimizer = optimizer
        self.param_name = param_name
        self.begin = begin
        self.end = end
        self.by_epoch = by_epoch
        self.verbose = verbose
        self.base_values = _initial_values(name, optimizer, param_name, last_step)
        self.last_step = last_step
        self._global_step = 0
        self._last_value = self._current_values()

    def _current_values(self) -> list:
        return [group[self.param_name] for group in self.optimizer.param_groups]

    def _scaled(self, factor: float) -> list:
        """Return the current value of every group times ``factor`` (a chainable update)."""
        return [group[self.param_name] * factor for group in self.optimizer.param_groups]

    @classmethod
    def build_iter_from_epoch(cls, *args: Any, begin: int = 0, end: int = INF,
                              by_epoch: bool = True, epoch_length: int | None = None,
                              **kwargs: Any) -> _ParamScheduler:
        """Build an iteration-based scheduler from epoch-based settings.

        Args:
            *args: Positional arguments of the constructor (the optimizer, ...).
            begin: First epoch of the window; becomes ``begin * epoch_length``.
            end: End epoch of the window; becomes ``end * epoch_length`` unless INF.
            by_epoch: Must be True: the settings given are in epochs.
            epoch_length: Iterations per epoch.
            **kwargs: Other constructor arguments, passed unchanged.

        Returns:
            The scheduler, with ``by_epoch=False``.

        Raises:
            ValueError: If ``by_epoch`` is False or ``epoch_length`` is not a positive int.
        """
        length = epoch_length_checked(cls, by_epoch, epoch_length)
        begin, end = epochs_to_iters(begin, end, length)
        return cls(*args, begin=begin, end=end, by_epoch=False, **kwargs)

    def _get_value(self) -> list:
        """Return the new value of every param group for the current ``last_step``."""
        raise NotImplementedError(f'{type(self).__name__} must implement _get_value().')

    def step(self) -> None:
        """Advance one step (an epoch or an iteration) and update the values if active."""
        if self.begin <= self._global_step < self.end:
            self.last_step += 1
            values = self._get_value()
            for index, (group, value) in enumerate(zip(self.optimizer.param_groups, values)):
                group[self.param_name] = value
                self.print_value(self.verbose, index, value)
        self._global_step += 1
        self._last_value = self._current_values()

    def get_last_value(self) -> list:
        """Return the values of every param group after the last step."""
        return self._last_value

    def print_value(self, is_verbose: bool, group: int, value: float) -> None:
        """Log the new value of a param group when ``is_verbose`` is True."""
        if not is_verbose:
            return
        from mmengine.logging import print_log
        print_log(f'Adjusting parameter value of group {group} to {value:.4e}.',
                  logger='current')

    def state_dict(self) -> dict:
        """Return the scheduler state: every attribute but the optimizer, as plain data."""
        return {key: copy.deepcopy(value) for key, value in self.__dict__.items()
                if key != 'optimizer'}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore the state returned by :meth:`state_dict`."""
        if not isinstance(state_dict, dict):
            raise TypeError(f'{type(self).__name__}.load_state_dict needs a dict, but got '
                            f'{type(state_dict).__name__}.')
        self.__dict__.update({key: copy.deepcopy(value) for key, value in state_dict.items()
                              if key != 'optimizer'})
