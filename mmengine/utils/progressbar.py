"""Progress bars: a rich live bar on terminals, plain progress lines everywhere else."""
from __future__ import annotations

import shutil
import sys
import weakref
from collections.abc import Callable, Iterable, Iterator, Sized
from typing import IO, TYPE_CHECKING, Any

from .timer import Timer

if TYPE_CHECKING:
    from multiprocessing.pool import Pool as PoolType

# Lines are printed at most this many times per bar in plain mode (plus the first and last),
# so a long job does not flood a log file.
_PLAIN_REPORTS = 10


def _is_terminal(file: IO) -> bool:
    isatty = getattr(file, 'isatty', None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # closed file
        return False


def _make_rich_progress(file: IO, bar_width: int | None, description: str, color: str) -> Any:
    """Build a started ``rich.progress.Progress`` writing to ``file`` (refreshed by the caller)."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    columns = [TextColumn(f'[bold {color}]{{task.description}}'), BarColumn(bar_width=bar_width),
               MofNCompleteColumn(), TaskProgressColumn(), TimeElapsedColumn(),
               TextColumn('ETA'), TimeRemainingColumn()]
    progress = Progress(*columns, console=Console(file=file), auto_refresh=False,
                        redirect_stdout=False, redirect_stderr=False)
    progress.start()
    progress.add_task(description, total=None)
    return progress


class ProgressBar:
    """A progress bar updated by hand.

    On a terminal it is a live ``rich`` bar; when ``file`` is not a terminal (a log file, a
    pipe) it prints plain lines such as ``[>>>>>     ] 5/10, 2.5 task/s, elapsed: 2s, ETA: 2s``,
    at most about ten per bar.

    Args:
        task_num: Total number of tasks; 0 when unknown (then counts are printed instead).
        bar_width: Width of the bar in characters (capped to the terminal width).
        start: Start the bar immediately.
        file: Where the bar is written.

    Examples:
        >>> import io
        >>> out = io.StringIO()
        >>> bar = ProgressBar(2, file=out)
        >>> bar.update(); bar.update()
        >>> '2/2' in out.getvalue()
        True
    """

    def __init__(self, task_num: int = 0, bar_width: int = 50, start: bool = True,
                 file: IO = sys.stdout) -> None:
        self.task_num = task_num
        self.bar_width = bar_width
        self.completed = 0
        self.file = file
        self._progress: Any = None
        self._last_report = -1
        if start:
            self.start()

    @property
    def terminal_width(self) -> int:
        """Number of columns of the terminal (80 when unknown)."""
        return shutil.get_terminal_size((80, 24)).columns

    def start(self) -> None:
        """Reset the count and timer and show the empty bar."""
        self.completed = 0
        self._last_report = -1
        self.timer = Timer()
        if _is_terminal(self.file):
            width = min(self.bar_width, max(self.terminal_width - 60, 10))
            self._progress = _make_rich_progress(self.file, width, '', 'blue')
            self._progress.update(0, total=self.task_num or None)
            self._progress.refresh()
            weakref.finalize(self, self._progress.stop)
        else:
            self._write_line()

    def update(self, num_tasks: int = 1) -> None:
        """Record ``num_tasks`` more finished tasks.

        Raises:
            ValueError: ``num_tasks`` is not positive.
        """
        if num_tasks <= 0:
            raise ValueError(f'num_tasks must be positive, got {num_tasks}')
        self.completed += num_tasks
        if self._progress is not None:
            self._progress.update(0, completed=self.completed)
            self._progress.refresh()
            if self.task_num and self.completed >= self.task_num:
                self._progress.stop()
        elif self._due():
            self._write_line()

    def _due(self) -> bool:
        if self.task_num <= 0:
            return True
        step = self.completed * _PLAIN_REPORTS // self.task_num
        if step != self._last_report or self.completed >= self.task_num:
            return True
        return False

    def _write_line(self) -> None:
        elapsed = self.timer.since_start()
        fps = self.completed / elapsed if elapsed > 0 else 0.0
        if self.task_num > 0:
            self._last_report = self.completed * _PLAIN_REPORTS // self.task_num
            frac = min(self.completed / self.task_num, 1.0)
            eta = int(elapsed * (1 - frac) / frac + 0.5) if frac > 0 else 0
            filled = int(self.bar_width * frac)
            bar = '>' * filled + ' ' * (self.bar_width - filled)
            line = (f'[{bar}] {self.completed}/{self.task_num}, {fps:.1f} task/s, '
                    f'elapsed: {int(elapsed + 0.5)}s, ETA: {eta:5}s')
        else:
            line = f'completed: {self.completed}, elapsed: {int(elapsed + 0.5)}s, {fps:.1f} tasks/s'
        self.file.write(line + '\n')
        self.file.flush()


def _split_tasks(tasks: Any) -> tuple[Iterable, int]:
    """Accept ``tasks`` as a sized iterable or an ``(iterable, task_num)`` tuple."""
    if (isinstance(tasks, tuple) and len(tasks) == 2 and isinstance(tasks[0], Iterable)
            and isinstance(tasks[1], int)):
        return tasks[0], tasks[1]
    if isinstance(tasks, Sized) and isinstance(tasks, Iterable):
        return tasks, len(tasks)
    raise TypeError('"tasks" must be a sized iterable or a tuple (iterator, task_num), '
                    f'got {type(tasks)}')


def track_progress(func: Callable, tasks: Any, bar_width: int = 50, file: IO = sys.stdout,
                   **kwargs: Any) -> list:
    """Apply ``func`` to each task while showing a progress bar.

    Args:
        func: Called as ``func(task, **kwargs)``.
        tasks: A sized iterable, or a tuple ``(iterator, task_num)``.
        bar_width: Width of the bar.
        file: Where the bar is written.
        **kwargs: Passed to every ``func`` call.

    Returns:
        The results in task order.
    """
    task_iter, task_num = _split_tasks(tasks)
    bar = ProgressBar(task_num, bar_width, file=file)
    results = []
    for task in task_iter:
        results.append(func(task, **kwargs))
        bar.update()
    return results


def init_pool(process_num: int, initializer: Callable | None = None,
              initargs: tuple | None = None) -> PoolType:
    """Create a ``multiprocessing.Pool`` with an optional initializer."""
    from multiprocessing import Pool  # lazy: only parallel tracking needs it
    if initializer is None:
        return Pool(process_num)
    if initargs is None:
        return Pool(process_num, initializer)
    if not isinstance(initargs, tuple):
        raise TypeError(f'"initargs" must be a tuple, got {type(initargs)}')
    return Pool(process_num, initializer, initargs)


def track_parallel_progress(func: Callable, tasks: Any, nproc: int,
                            initializer: Callable | None = None, initargs: tuple | None = None,
                            bar_width: int = 50, chunksize: int = 1, skip_first: bool = False,
                            keep_order: bool = True, file: IO = sys.stdout) -> list:
    """Apply ``func`` to each task in a process pool while showing a progress bar.

    Args:
        func: A picklable function called as ``func(task)``.
        tasks: A sized iterable, or a tuple ``(iterator, task_num)``.
        nproc: Number of worker processes.
        initializer: Run once in each worker at start.
        initargs: Arguments of ``initializer``.
        bar_width: Width of the bar.
        chunksize: Tasks sent to a worker at once.
        skip_first: Leave the first ``nproc * chunksize`` tasks out of the speed estimate
            (workers starting up make them slow).
        keep_order: Return results in task order (``imap``) rather than completion order.
        file: Where the bar is written.

    Returns:
        The results, in task order if ``keep_order``.
    """
    task_iter, task_num = _split_tasks(tasks)
    skipped = nproc * chunksize if skip_first else 0
    bar = ProgressBar(task_num - skipped, bar_width, start=not skip_first, file=file)
    results = []
    with init_pool(nproc, initializer, initargs) as pool:
        mapper = pool.imap if keep_order else pool.imap_unordered
        for result in mapper(func, task_iter, chunksize):
            results.append(result)
            if skip_first and len(results) <= skipped:
                if len(results) == skipped:
                    bar.start()
                continue
            bar.update()
    return results


def track_iter_progress(tasks: Any, bar_width: int = 50, file: IO = sys.stdout) -> Iterator:
    """Yield each task while showing a progress bar that advances after each one.

    Args:
        tasks: A sized iterable, or a tuple ``(iterator, task_num)``.
        bar_width: Width of the bar.
        file: Where the bar is written.
    """
    task_iter, task_num = _split_tasks(tasks)
    bar = ProgressBar(task_num, bar_width, file=file)
    try:
        for task in task_iter:
            yield task
            bar.update()
    finally:
        if bar._progress is not None:
            bar._progress.stop()
