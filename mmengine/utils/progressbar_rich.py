"""Track a (possibly parallel) job with a ``rich`` progress bar."""
from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sized
from typing import Any

from .progressbar import ProgressBar, _is_terminal, _make_rich_progress, init_pool


class _Worker:
    """Call ``func`` on one task: dict items become keyword arguments, the rest positional."""

    def __init__(self, func: Callable) -> None:
        self.func = func

    def __call__(self, indexed: tuple[int, tuple]) -> tuple[int, Any]:
        idx, task = indexed
        args = [item for item in task if not isinstance(item, dict)]
        kwargs: dict = {}
        for item in task:
            if isinstance(item, dict):
                kwargs.update(item)
        return idx, self.func(*args, **kwargs)


def _normalize_tasks(tasks: Any, task_num: int | None) -> tuple[Iterable[tuple], int]:
    """Turn ``tasks`` into an iterable of argument tuples and count them."""
    if not isinstance(tasks, Iterable):
        raise TypeError(f'tasks must be an iterable, got {type(tasks)}')
    if isinstance(tasks, tuple):
        if len(tasks) == 0:
            if task_num is None:
                raise ValueError('tasks is empty, so task_num must be given (how many times '
                                 'to call func with no arguments)')
            return ((() for _ in range(task_num)), task_num)
        groups = list(tasks)
    else:  # a plain iterable: each element is the single argument of one call
        groups = [tasks]
    if task_num is None:
        sizes = {len(g) for g in groups if isinstance(g, Sized)}
        if len(sizes) != 1:
            raise ValueError('cannot infer the number of tasks (iterables without a length or '
                             'of different lengths); pass task_num')
        task_num = sizes.pop()
    return zip(*groups), task_num


def track_progress_rich(func: Callable, tasks: Any = tuple(), task_num: int | None = None,
                        nproc: int = 1, chunksize: int = 1, description: str = 'Processing',
                        color: str = 'blue') -> list:
    """Apply ``func`` to each task, in ``nproc`` processes, showing a ``rich`` progress bar.

    When standard output is not a terminal, plain progress lines are printed instead.

    Args:
        func: The function applied to each task (picklable when ``nproc > 1``).
        tasks: A tuple of iterables, zipped into the calls: ``()`` calls ``func()``
            ``task_num`` times; ``(xs,)`` calls ``func(x)``; ``(xs, ys)`` calls ``func(x, y)``;
            a ``dict`` element is passed as keyword arguments. A non-tuple iterable is taken as
            ``(tasks,)``.
        task_num: Number of tasks; inferred from the iterables' lengths when omitted.
        nproc: Number of worker processes; 1 runs in this process.
        chunksize: Tasks sent to a worker at once.
        description: Text shown beside the bar.
        color: Color of the description.

    Returns:
        The results in task order.

    Examples:
        >>> track_progress_rich(lambda x, y: x + y, ([1, 2], [10, 20]))  # doctest: +SKIP
        [11, 22]
    """
    if nproc <= 0:
        raise ValueError(f'nproc must be a positive number, got {nproc}')
    if chunksize <= 0:
        raise ValueError(f'chunksize must be a positive number, got {chunksize}')
    arg_iter, total = _normalize_tasks(tasks, task_num)
    worker = _Worker(func)
    results: dict[int, Any] = {}
    reporter = _Reporter(total, description, color)
    try:
        if nproc == 1:
            for idx, result in map(worker, enumerate(arg_iter)):
                results[idx] = result
                reporter.advance()
        else:
            with init_pool(nproc) as pool:
                for idx, result in pool.imap_unordered(worker, enumerate(arg_iter), chunksize):
                    results[idx] = result
                    reporter.advance()
    finally:
        reporter.close()
    return [results[i] for i in sorted(results)]


class _Reporter:
    """A rich bar on a terminal, a plain :class:`ProgressBar` otherwise."""

    def __init__(self, total: int, description: str, color: str) -> None:
        self._rich: Any = None
        self._plain: ProgressBar | None = None
        if _is_terminal(sys.stdout):
            self._rich = _make_rich_progress(sys.stdout, None, description, color)
            self._rich.update(0, total=total)
            self._rich.refresh()
        else:
            self._plain = ProgressBar(total, file=sys.stdout)

    def advance(self) -> None:
        if self._rich is not None:
            self._rich.advance(0)
            self._rich.refresh()
        elif self._plain is not None:
            self._plain.update()

    def close(self) -> None:
        if self._rich is not None:
            self._rich.stop()
