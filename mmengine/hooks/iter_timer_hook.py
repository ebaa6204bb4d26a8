"""IterTimerHook: data loading time, iteration time and the estimated time left."""
from __future__ import annotations

import time
from typing import Any

from mmengine.registry import HOOKS

from .hook import DATA_BATCH, Hook
from .runtime_info_hook import publish_scalar


@HOOKS.register_module()
class IterTimerHook(Hook):
    """Record ``<mode>/data_time`` and ``<mode>/time`` (seconds, Python floats) per iteration.

    ``data_time`` is the time from the end of the previous iteration (or the start of the
    epoch) to the start of this one, i.e. waiting for the dataloader; ``time`` is the whole
    iteration including loading. The estimated time left goes to the MessageHub info ``eta``
    (seconds): for training, from the mean iteration time since training (re)started, for
    validation/testing, for the rest of the dataloader.
    """

    priority = 'NORMAL'

    def __init__(self) -> None:
        self.time_sec_tot = 0.0
        self.start_iter = 0
        self._eval_sec_tot = 0.0
        self._max_iters = 0
        self.t = time.perf_counter()

    def before_train(self, runner: Any) -> None:
        """Start the training clock at the (possibly resumed) iteration."""
        self.time_sec_tot = 0.0
        self.start_iter = runner.iter
        self._max_iters = runner.max_iters  # fixed for the run; read once, not per iteration

    def _before_epoch(self, runner: Any, mode: str = 'train') -> None:
        self.t = time.perf_counter()
        if mode != 'train':
            self._eval_sec_tot = 0.0

    def after_val(self, runner: Any) -> None:
        """Restart the clock so evaluation time is not counted as training data time."""
        self.t = time.perf_counter()

    def after_test(self, runner: Any) -> None:
        """Restart the clock after testing."""
        self.t = time.perf_counter()

    def before_train_iter(self, runner: Any, batch_idx: int,
                          data_batch: DATA_BATCH = None) -> None:
        """Record the data time (called directly: it runs on every training iteration)."""
        publish_scalar(runner.message_hub, 'train/data_time', time.perf_counter() - self.t)

    def _before_iter(self, runner: Any, batch_idx: int, data_batch: DATA_BATCH = None,
                     mode: str = 'train') -> None:
        publish_scalar(runner.message_hub, f'{mode}/data_time', time.perf_counter() - self.t)

    def after_train_iter(self, runner: Any, batch_idx: int, data_batch: DATA_BATCH = None,
                         outputs: Any = None) -> None:
        """Record the iteration time and the time left (called directly, like
        :meth:`before_train_iter`, without the ``mode`` dispatch of the base class)."""
        now = time.perf_counter()
        iter_time = now - self.t
        self.t = now
        hub = runner.message_hub
        publish_scalar(hub, 'train/time', iter_time)
        self.time_sec_tot += iter_time
        current = runner.iter
        left = self._max_iters - current - 1
        hub.update_info('eta', self.time_sec_tot / (current - self.start_iter + 1) * left)

    def _after_iter(self, runner: Any, batch_idx: int, data_batch: DATA_BATCH = None,
                    outputs: Any = None, mode: str = 'train') -> None:
        if mode == 'train':
            self.after_train_iter(runner, batch_idx, data_batch, outputs)
            return
        now = time.perf_counter()
        iter_time = now - self.t
        self.t = now
        hub = runner.message_hub
        publish_scalar(hub, f'{mode}/time', iter_time)
        self._eval_sec_tot += iter_time
        left = len(getattr(runner, f'{mode}_dataloader')) - batch_idx - 1
        hub.update_info('eta', self._eval_sec_tot / (batch_idx + 1) * left)
