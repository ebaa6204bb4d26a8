"""ProgressBarHook: a live progress bar with ETA for validation and testing on a terminal."""
from __future__ import annotations

import logging
import sys
from typing import IO, Any

from mmengine.dist import is_main_process
from mmengine.registry import HOOKS

from .hook import DATA_BATCH, Hook

_DESCRIPTIONS = {'train': 'Train', 'val': 'Val', 'test': 'Test'}


@HOOKS.register_module()
class ProgressBarHook(Hook):
    """Show a live `rich <https://github.com/Textualize/rich>`_ progress bar with ETA.

    On an interactive terminal the validation and test loops (and, with ``train=True``, the
    training loop) get a bar that advances every iteration and shows the estimated time left.
    While the bar is live, the runner logger's terminal lines are printed above it so that
    they are not overwritten. On anything else (a file, a pipe, CI logs) the hook does nothing
    at all, per iteration included, and the periodic lines of :class:`LoggerHook` remain the
    only progress report. Only the main process draws a bar.

    The hook is not one of the default hooks; add it as a custom hook::

        custom_hooks = [dict(type='ProgressBarHook')]

    Args:
        train: Also show a bar for training (per epoch for epoch-based loops, over the
            remaining iterations for iteration-based ones). Default: False.
        stream: The stream to draw on; ``None`` means ``sys.stdout`` at the time a loop
            starts. The bar is drawn only when ``stream.isatty()`` is true.
        refresh_per_second: How often the bar is redrawn (a background thread, so iterations
            pay only for a counter increment).
    """

    priority = 'VERY_LOW'

    def __init__(self, train: bool = False, stream: IO[str] | None = None,
                 refresh_per_second: float = 4.0) -> None:
        self.train = train
        self.stream = stream
        self.refresh_per_second = refresh_per_second
        self._progress: Any = None
        self._tasks: dict[str, Any] = {}
        self._swapped: list[tuple[logging.StreamHandler, Any]] = []

    # -- deciding -----------------------------------------------------------------------
    def _target(self) -> IO[str]:
        return self.stream if self.stream is not None else sys.stdout

    def is_interactive(self) -> bool:
        """Whether a bar would be drawn now (main process and a TTY stream)."""
        isatty = getattr(self._target(), 'isatty', None)
        return bool(callable(isatty) and isatty()) and is_main_process()

    @staticmethod
    def _iter_based(runner: Any) -> bool:
        from mmengine.runner import IterBasedTrainLoop  # layer 9: imported lazily
        return isinstance(runner.train_loop, IterBasedTrainLoop)

    def _total(self, runner: Any, mode: str) -> int | None:
        loop = getattr(runner, f'{mode}_loop')
        if mode == 'train' and self._iter_based(runner):
            return runner.max_iters - runner.iter
        try:
            return len(loop.dataloader)
        except TypeError:  # an iterable dataset without a length: no ETA, just a counter
            return None

    # -- the bar ------------------------------------------------------------------------
    def _start(self, runner: Any, mode: str) -> None:
        if self._progress is None:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )
            console = Console(file=self._target(), force_terminal=True)
            self._progress = Progress(
                TextColumn('[bold]{task.description}'), BarColumn(), MofNCompleteColumn(),
                TimeElapsedColumn(), TextColumn('eta'), TimeRemainingColumn(),
                console=console, refresh_per_second=self.refresh_per_second,
                redirect_stdout=False, redirect_stderr=False)
            self._progress.start()
            self._route_logger(runner, console)
        description = _DESCRIPTIONS[mode]
        if mode == 'train' and not self._iter_based(runner):
            description = f'Epoch {runner.epoch + 1}/{runner.max_epochs}'
        self._tasks[mode] = self._progress.add_task(description, total=self._total(runner, mode))

    def _route_logger(self, runner: Any, console: Any) -> None:
        """Send the logger's terminal handler through the live console (lines above the bar)."""
        from rich.file_proxy import FileProxy
        target = self._target()
        for handler in getattr(runner.logger, 'handlers', []):
            if (type(handler) is logging.StreamHandler
                    and handler.stream in (target, sys.stdout, sys.__stdout__)):
                self._swapped.append((handler, handler.setStream(FileProxy(console, target))))

    def _finish(self, mode: str) -> None:
        task = self._tasks.pop(mode, None)
        if task is None or self._progress is None:
            return
        self._progress.remove_task(task)
        if not self._tasks:
            self._progress.stop()
            self._progress = None
            for handler, stream in self._swapped:
                handler.stream.flush()
                handler.setStream(stream)
            self._swapped.clear()

    # -- stages -------------------------------------------------------------------------
    def _before_epoch(self, runner: Any, mode: str = 'train') -> None:
        if (mode != 'train' or self.train) and self.is_interactive():
            self._start(runner, mode)

    def _after_iter(self, runner: Any, batch_idx: int, data_batch: DATA_BATCH = None,
                    outputs: Any = None, mode: str = 'train') -> None:
        task = self._tasks.get(mode)  # one dict lookup when no bar is shown
        if task is not None:
            self._progress.advance(task)

    def after_train_epoch(self, runner: Any) -> None:
        """End the epoch's bar (epoch-based); iteration-based bars end with training."""
        if 'train' in self._tasks and not self._iter_based(runner):
            self._finish('train')

    def after_val_epoch(self, runner: Any, metrics: dict[str, float] | None = None) -> None:
        """Remove the validation bar."""
        self._finish('val')

    def after_test_epoch(self, runner: Any, metrics: dict[str, float] | None = None) -> None:
        """Remove the test bar."""
        self._finish('test')

    def after_train(self, runner: Any) -> None:
        """Remove a training bar left over (iteration-based training, early stop)."""
        self._finish('train')

    def after_run(self, runner: Any) -> None:
        """Make sure no live display survives the run (e.g. after an exception)."""
        for mode in list(self._tasks):
            self._finish(mode)
