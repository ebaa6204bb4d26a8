"""A simple wall-clock timer."""
from __future__ import annotations

from time import time


class TimerError(Exception):
    """Raised when a :class:`Timer` is used in the wrong state."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class Timer:
    """Measure elapsed seconds; usable as a context manager that prints the elapsed time.

    Args:
        start: Start timing immediately.
        print_tmpl: Template printed on exiting a ``with`` block, formatted with the seconds.

    Examples:
        >>> timer = Timer()
        >>> timer.since_start() >= 0
        True
    """

    def __init__(self, start: bool = True, print_tmpl: str | None = None) -> None:
        self._is_running = False
        self.print_tmpl = print_tmpl if print_tmpl else '{:.3f}'
        if start:
            self.start()

    @property
    def is_running(self) -> bool:
        """Whether the timer has been started."""
        return self._is_running

    def __enter__(self) -> Timer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        print(self.print_tmpl.format(self.since_last_check()))
        self._is_running = False

    def start(self) -> None:
        """Start the timer (no effect if it is running)."""
        if not self._is_running:
            self._t_start = time()
            self._is_running = True
        self._t_last = time()

    def _require_running(self) -> None:
        if not self._is_running:
            raise TimerError('timer is not running; call start() first')

    def since_start(self) -> float:
        """Return seconds since the timer started and mark this as the last check."""
        self._require_running()
        self._t_last = time()
        return self._t_last - self._t_start

    def since_last_check(self) -> float:
        """Return seconds since the last check (or the start) and mark a new check."""
        self._require_running()
        now = time()
        dur, self._t_last = now - self._t_last, now
        return dur


_g_timers: dict[str, Timer] = {}


def check_time(timer_id: str) -> float:
    """Return seconds since the previous call with the same ``timer_id`` (0 on the first call).

    Examples:
        >>> check_time('doc_example')
        0
    """
    if timer_id not in _g_timers:
        _g_timers[timer_id] = Timer()
        return 0
    return _g_timers[timer_id].since_last_check()
