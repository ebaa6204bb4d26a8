"""Average the wall time of a function or code block over many runs."""
from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any


class TimeCounter:
    """Measure the average time of a function (as a decorator) or a ``with`` block.

    Instances with the same ``tag`` are shared, so the same block timed in a loop accumulates.
    Every ``log_interval`` runs (after ``warmup_interval`` warm-up runs) the average is
    logged through the current ``MMLogger``.

    Args:
        log_interval: Log the average every this many runs.
        warmup_interval: Runs left out of the average at the start.
        with_sync: Synchronize CUDA before reading the clock so kernels are counted.
        tag: Name in the log line; defaults to the function's name.

    Examples:
        >>> @TimeCounter(log_interval=2)
        ... def f():
        ...     return 1
        >>> f()
        1
    """

    instance_dict: dict[str, TimeCounter] = dict()

    log_interval: int
    warmup_interval: int
    with_sync: bool
    tag: str | None

    def __new__(cls, log_interval: int = 1, warmup_interval: int = 1, with_sync: bool = True,
                tag: str | None = None) -> TimeCounter:
        if warmup_interval < 1:
            raise ValueError(f'warmup_interval must be at least 1, got {warmup_interval}')
        if tag is not None and tag in cls.instance_dict:
            return cls.instance_dict[tag]
        instance = super().__new__(cls)
        instance.log_interval = log_interval
        instance.warmup_interval = warmup_interval
        instance.with_sync = with_sync
        instance.tag = tag
        instance._count = 0
        instance._total = 0.0
        instance._start = 0.0
        if tag is not None:
            cls.instance_dict[tag] = instance
        return instance

    def __call__(self, fn: Callable) -> Callable:
        if self.tag is None:
            self.tag = fn.__name__

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self:
                return fn(*args, **kwargs)

        return wrapper

    def _sync(self) -> None:
        if not self.with_sync:
            return
        import torch
        if torch.cuda.is_available():
            torch.cuda.synchronize()

    def __enter__(self) -> TimeCounter:
        if self.tag is None:
            raise RuntimeError('a TimeCounter used as a context manager needs a tag, e.g. '
                               "TimeCounter(tag='forward')")
        self._sync()
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._sync()
        self.print_time(time.perf_counter() - self._start)

    def print_time(self, elapsed: float) -> None:
        """Record one run taking ``elapsed`` seconds and log the average when due."""
        self._count += 1
        if self._count <= self.warmup_interval:
            return
        self._total += elapsed
        measured = self._count - self.warmup_interval
        if measured % self.log_interval == 0:
            from mmengine.logging import print_log  # layer 2: imported only when logging
            avg_ms = 1000 * self._total / measured
            print_log(f'[{self.tag}]-time per run averaged in the past {measured} runs: '
                      f'{avg_ms:.1f} ms', 'current')
