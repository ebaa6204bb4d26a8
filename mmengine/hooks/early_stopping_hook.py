"""EarlyStoppingHook: stop training when a validation metric stops improving."""
from __future__ import annotations

import math
import warnings
from math import inf
from typing import Any

from mmengine.registry import HOOKS

from .checkpoint_hook import DEFAULT_GREATER_KEYS, DEFAULT_LESS_KEYS
from .hook import Hook


@HOOKS.register_module()
class EarlyStoppingHook(Hook):
    """Set ``runner.train_loop.stop_training`` when ``monitor`` has not improved for a while.

    A validation counts as an improvement when the metric beats the best so far by at least
    ``min_delta``; after ``patience`` validations without one, training stops at the end of
    the current epoch/iteration. Training also stops at once when the metric becomes
    infinite/NaN (``check_finite``) or reaches ``stopping_threshold``.

    Args:
        monitor: Metric name to watch.
        rule: ``'greater'`` or ``'less'``; inferred from ``monitor`` when ``None``
            (``acc``, ``top``, ``mAP``... greater, ``loss`` less).
        min_delta: Smallest change that counts as an improvement. Defaults to 0.1.
        strict: Raise when ``monitor`` is missing from the metrics (else warn). Defaults to
            False.
        check_finite: Stop when the metric is not finite. Defaults to True.
        patience: Validations without improvement before stopping. Defaults to 5.
        stopping_threshold: Stop as soon as the metric is better than this.
    """

    priority = 'LOWEST'
    rule_map = {'greater': lambda x, y: x > y, 'less': lambda x, y: x < y}
    _default_greater_keys = list(DEFAULT_GREATER_KEYS)
    _default_less_keys = list(DEFAULT_LESS_KEYS)

    def __init__(self, monitor: str, rule: str | None = None, min_delta: float = 0.1,
                 strict: bool = False, check_finite: bool = True, patience: int = 5,
                 stopping_threshold: float | None = None) -> None:
        self.monitor = monitor
        if rule is None:
            if any(key in monitor for key in self._default_greater_keys):
                rule = 'greater'
            elif any(key in monitor for key in self._default_less_keys):
                rule = 'less'
            else:
                raise ValueError(f'Cannot infer whether a larger {monitor!r} is better; pass '
                                 "`rule='greater'` or `rule='less'`.")
        elif rule not in self.rule_map:
            raise ValueError(f"`rule` must be 'greater', 'less' or None, got {rule!r}.")
        if patience < 1:
            raise ValueError(f'`patience` must be >= 1, got {patience}.')
        self.rule = rule
        self.min_delta = min_delta if rule == 'greater' else -min_delta
        self.strict = strict
        self.check_finite = check_finite
        self.patience = patience
        self.stopping_threshold = stopping_threshold
        self.wait_count = 0
        self.best_score = -inf if rule == 'greater' else inf

    def before_run(self, runner: Any) -> None:
        """Check that the training loop can be stopped."""
        if runner.train_loop is not None and not hasattr(runner.train_loop, 'stop_training'):
            raise RuntimeError('EarlyStoppingHook needs a train loop with a `stop_training` '
                               f'attribute; {type(runner.train_loop).__name__} has none.')

    def _check_stop_condition(self, score: float) -> tuple[bool, str]:
        better = self.rule_map[self.rule]
        if self.check_finite and not math.isfinite(score):
            return True, (f'Monitored metric {self.monitor} = {score} is not finite. Previous '
                          f'best value was {self.best_score:.3f}.')
        if self.stopping_threshold is not None and better(score, self.stopping_threshold):
            self.best_score = score
            return True, (f'Stopping threshold reached: `{self.monitor}` = {score} is '
                          f'{self.rule} than {self.stopping_threshold}.')
        if better(self.best_score + self.min_delta, score):
            self.wait_count += 1
            if self.wait_count >= self.patience:
                return True, (f'The monitored metric did not improve in the last '
                              f'{self.wait_count} records. Best score: {self.best_score:.3f}.')
            return False, ''
        self.best_score = score
        self.wait_count = 0
        return False, ''

    def after_val_epoch(self, runner: Any, metrics: dict[str, float] | None = None) -> None:
        """Update the patience counter and stop training when a condition is met."""
        metrics = metrics or {}
        if self.monitor not in metrics:
            message = (f'EarlyStoppingHook monitors {self.monitor!r}, which is not among the '
                       f'metrics {sorted(metrics)}.')
            if self.strict:
                raise RuntimeError(message + ' Check the metric name or set strict=False.')
            warnings.warn(message + ' Early stopping is skipped for this validation.')
            return
        stop, message = self._check_stop_condition(float(metrics[self.monitor]))
        if stop:
            runner.train_loop.stop_training = True
            runner.logger.info(message)
