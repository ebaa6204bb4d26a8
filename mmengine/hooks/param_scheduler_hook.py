"""ParamSchedulerHook: step the runner's parameter schedulers at the right points."""
from __future__ import annotations

from typing import Any, Iterator

from mmengine.registry import HOOKS

from .hook import DATA_BATCH, Hook


def _all_schedulers(runner: Any) -> Iterator[Any]:
    """Every scheduler of ``runner.param_schedulers`` (a list, or a dict of lists)."""
    schedulers = runner.param_schedulers
    if schedulers is None:
        return
    if isinstance(schedulers, dict):
        groups = list(schedulers.values())
    elif isinstance(schedulers, list):
        groups = [schedulers]
    else:
        raise TypeError('runner.param_schedulers must be a list of schedulers or a dict of '
                        f'such lists (one per optimizer), but got {type(schedulers).__name__}.')
    for group in groups:
        yield from group


def _needs_metrics(scheduler: Any) -> bool:
    return bool(getattr(scheduler, 'need_val_args', False))


@HOOKS.register_module()
class ParamSchedulerHook(Hook):
    """Step iteration-based schedulers after every train iteration, epoch-based ones after
    every train epoch, and metric-driven ones (``need_val_args``, e.g. ``ReduceOnPlateau``)
    after every validation with the metrics.
    """

    priority = 'LOW'

    def before_train(self, runner: Any) -> None:
        """Sit out the per-iteration stage when no scheduler steps per iteration (checked
        once here, when the schedulers are built)."""
        per_iter = any(not scheduler.by_epoch for scheduler in _all_schedulers(runner))
        self._set_idle_stages(() if per_iter else ('after_train_iter',))

    def after_train_iter(self, runner: Any, batch_idx: int, data_batch: DATA_BATCH = None,
                         outputs: dict | None = None) -> None:
        """Step the iteration-based schedulers."""
        if not runner.param_schedulers:  # nothing to step: the common no-scheduler case
            return
        for scheduler in _all_schedulers(runner):
            # Metric-driven schedulers also step here: a plain step() advances their
            # [begin, end) window; the metric is judged in after_val_epoch.
            if not scheduler.by_epoch:
                scheduler.step()

    def after_train_epoch(self, runner: Any) -> None:
        """Step the epoch-based schedulers."""
        for scheduler in _all_schedulers(runner):
            if scheduler.by_epoch:
                scheduler.step()

    def after_val_epoch(self, runner: Any, metrics: dict[str, float] | None = None) -> None:
        """Step the schedulers that follow a validation metric."""
        if metrics is None:
            return
        for scheduler in _all_schedulers(runner):
            if _needs_metrics(scheduler):
                scheduler.step(metrics)
