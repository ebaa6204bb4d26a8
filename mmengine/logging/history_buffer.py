"""``HistoryBuffer``: the recent values of one logged scalar and statistics over them."""
from __future__ import annotations

import sys
from collections import deque
from collections.abc import Callable, Iterable
from itertools import islice
from typing import Any

import numpy as np


def _is_tensor(value: Any) -> bool:
    torch = sys.modules.get('torch')
    return torch is not None and isinstance(value, torch.Tensor)


def _small_sum(values: list[float]) -> float:
    """Sum of at most 128 floats, added in exactly numpy's order (bit-identical results).

    numpy adds fewer than 8 values one by one and up to 128 values in 8 interleaved partial
    sums combined pairwise; redoing that in Python costs a fraction of building an array.
    """
    n = len(values)
    if n < 8:
        total = 0.0
        for value in values:
            total += value
        return total
    partial = values[:8]
    stop = n - n % 8
    for start in range(8, stop, 8):
        for lane in range(8):
            partial[lane] += values[start + lane]
    total = ((partial[0] + partial[1]) + (partial[2] + partial[3])) + (
        (partial[4] + partial[5]) + (partial[6] + partial[7]))
    for value in values[stop:]:
        total += value
    return total


def _stack_to_floats(tensors: list) -> list:
    """Numbers of one-element tensors of one device, with at most one host transfer.

    Tensors on an accelerator are stacked and copied to the host at once. The usual window
    (one shape and dtype) is stacked as it is: ``tolist`` of a float32/float16/integer
    tensor already yields the exact float64 value of each element, so no per-tensor
    ``reshape``/``double`` is needed; mixed shapes or dtypes are normalized per tensor first.
    CPU tensors need no transfer at all, and reading each one is cheaper than stacking.
    """
    import torch
    first = tensors[0]
    if first.device.type == 'cpu' and all(t.numel() == 1 for t in tensors):
        return [t.item() for t in tensors]
    shape, dtype = first.shape, first.dtype
    uniform = (first.numel() == 1 and not dtype.is_complex
               and all(t.shape == shape and t.dtype == dtype for t in tensors))
    if uniform and not any(t.requires_grad for t in tensors):
        stacked = torch.stack(tensors)
    else:
        with torch.no_grad():
            stacked = torch.stack(tensors if uniform
                                  else [t.reshape(()).double() for t in tensors])
    return (stacked.reshape(-1) if stacked.dim() != 1 else stacked).tolist()


def _cpu_number(value: Any, tensor_type: type) -> float | None:
    """The float of a one-element CPU tensor of exactly ``tensor_type``, read now (a CPU
    tensor has nothing to wait for), or a float/int value as a float; None for the rest
    (accelerator tensors, tensor subclasses, complex values), which take the general way."""
    if type(value) is tensor_type and value.is_cpu:
        try:  # item() is exactly what a one-element tensor needs; others raise
            value = value.item()
        except RuntimeError:
            return None
    kind = type(value)
    if kind is float:
        return value
    if kind is int or kind is bool:
        return float(value)
    return None


def _to_numbers(values: list) -> list[float]:
    """Convert stored values to Python floats with one host transfer per device.

    Tensors on the same device are stacked first so a window of CUDA tensors costs a single
    synchronization instead of one per element.
    """
    tensor_type = sys.modules['torch'].Tensor
    numbers = []
    for value in values:
        number = _cpu_number(value, tensor_type)
        if number is None:
            break
        numbers.append(number)
    else:
        return numbers
    out = list(values)
    by_device: dict[Any, list[int]] = {}
    for i, value in enumerate(values):
        if isinstance(value, tensor_type):
            by_device.setdefault(value.device, []).append(i)
    for indices in by_device.values():
        numbers = _stack_to_floats([values[i] for i in indices])
        for i, number in zip(indices, numbers):
            out[i] = number
    return [float(v) for v in out]


def _convert_tail(history: deque, pending: int) -> None:
    """Replace the last ``pending`` entries of ``history`` by Python numbers."""
    tail = list(islice(reversed(history), pending))
    tail.reverse()
    numbers = _to_numbers(tail)
    for _ in range(pending):
        history.pop()
    history.extend(numbers)


class HistoryBuffer:
    """The last ``max_length`` values of a scalar and how many samples each one covers.

    ``update`` stores a tensor on an accelerator as it is, so updating never waits for the
    device; the statistics convert such values to Python floats when they are read (one
    transfer per window and device) and keep the converted numbers, so later reads are free.
    A one-element CPU tensor has nothing to wait for and is read at once.

    Args:
        log_history: Initial values. Defaults to empty.
        count_history: Initial counts, one per value. Defaults to empty.
        max_length: How many values are kept; older ones are dropped.

    Examples:
        >>> buf = HistoryBuffer()
        >>> for v in (1.0, 2.0, 3.0, 4.0):
        ...     buf.update(v)
        >>> buf.mean(), buf.mean(2), buf.max(), buf.min(), buf.current()
        (2.5, 3.5, 4.0, 1.0, 4.0)
    """

    _statistics_methods: dict[str, Callable] = {}

    def __init__(self, log_history: Iterable = [], count_history: Iterable = [],  # noqa: B006
                 max_length: int = 1000000) -> None:
        if not isinstance(max_length, int) or max_length < 1:
            raise ValueError(f'max_length must be a positive int, but got {max_length!r}.')
        logs, counts = list(log_history), list(count_history)
        if len(logs) != len(counts):
            raise ValueError('log_history and count_history must have the same length, but got '
                             f'{len(logs)} and {len(counts)}.')
        self.max_length = max_length
        self._log_history: deque = deque(logs, maxlen=max_length)
        self._count_history: deque = deque(counts, maxlen=max_length)
        # The newest ``_pending`` entries may still hold tensors; older ones are floats. Only
        # that tail is converted when a statistic is read, so reading stays O(window).
        # ``_tensor_counts``: whether a count among them is a tensor (rare; the usual counts
        # are ints, and testing each one against torch.Tensor is not free).
        self._tensor_counts = any(map(_is_tensor, counts))
        self._pending = len(logs) if self._tensor_counts or any(map(_is_tensor, logs)) else 0

    def update(self, log_val: Any, count: int = 1) -> None:
        """Append a value (a number, numpy scalar or one-element tensor) covering ``count``."""
        # Called for every logged scalar of every iteration: exact-type checks first.
        kind = type(log_val)
        if kind is float or kind is int:
            tensor = False
        elif isinstance(log_val, tensor_type := getattr(sys.modules.get('torch'), 'Tensor', ())):
            # (no torch imported: isinstance(x, ()) is False.) A CPU tensor is read now, as
            # the value it has at this step: there is no device to wait for, and reading
            # one value here costs half what reading it in a window later does.
            number = _cpu_number(log_val, tensor_type)
            if number is None:
                tensor = True
            else:
                log_val, tensor = number, False
        elif isinstance(log_val, np.ndarray):
            log_val, tensor = float(log_val.reshape(())), False
        elif isinstance(log_val, int | float | np.number):
            tensor = False
        else:
            raise TypeError('HistoryBuffer values must be numbers, numpy scalars or one-element '
                            f'tensors, but got {type(log_val).__name__}: {log_val!r}.')
        if type(count) is not int and _is_tensor(count):
            tensor = self._tensor_counts = True
        if (tensor or self._pending) and self._pending < self.max_length:
            self._pending += 1  # (not min(): the builtin parses its arguments, 700 instructions)
        self._log_history.append(log_val)
        self._count_history.append(count)

    def _materialize(self) -> None:
        """Replace the stored tensors of the newest entries by floats (one sync)."""
        pending = min(self._pending, len(self._log_history))
        self._pending = 0
        if not pending:  # (pending entries exist only once a tensor was stored)
            return
        _convert_tail(self._log_history, pending)
        if self._tensor_counts:
            _convert_tail(self._count_history, pending)
            self._tensor_counts = False

    def _tail(self, window_size: int | None) -> tuple[list, list]:
        """The last ``window_size`` values and counts (all if None) as two lists."""
        if window_size is not None and (not isinstance(window_size, int) or window_size < 1):
            raise ValueError(f'window_size must be a positive int or None, but got '
                             f'{window_size!r}.')
        if not self._log_history:
            raise RuntimeError('The HistoryBuffer is empty; call update() before reading a '
                               'statistic.')
        if self._pending:
            self._materialize()
        if window_size is None or window_size >= len(self._log_history):
            return list(self._log_history), list(self._count_history)
        # Only the window is copied: a log line costs O(window), not O(history).
        logs = list(islice(reversed(self._log_history), window_size))
        counts = list(islice(reversed(self._count_history), window_size))
        logs.reverse()
        counts.reverse()
        return logs, counts

    def _window(self, window_size: int | None) -> tuple[np.ndarray, np.ndarray]:
        logs, counts = self._tail(window_size)
        return np.asarray(logs, dtype=np.float64), np.asarray(counts)

    @property
    def data(self) -> tuple[np.ndarray, np.ndarray]:
        """The stored values and counts as two numpy arrays."""
        if not self._log_history:
            return np.array([]), np.array([])
        return self._window(None)

    @classmethod
    def register_statistics(cls, method: Callable) -> Callable:
        """Decorator registering ``method(buffer, *args)`` as a statistic named after it.

        Examples:
            >>> @HistoryBuffer.register_statistics
            ... def doc_total(buffer):
            ...     return float(buffer.data[0].sum())
            >>> buf = HistoryBuffer([1.0, 2.0], [1, 1])
            >>> buf.statistics('doc_total')
            3.0
        """
        cls._statistics_methods[method.__name__] = method
        return method

    def statistics(self, method_name: str, *arg: Any, **kwargs: Any) -> Any:
        """Compute the statistic called ``method_name`` (``'mean'``, ``'max'``, a custom one).

        Raises:
            KeyError: If no statistic of that name is registered.
        """
        if method_name not in self._statistics_methods:
            raise KeyError(f'{method_name!r} is not a registered statistic; choose one of '
                           f'{sorted(self._statistics_methods)} or register it with '
                           '@HistoryBuffer.register_statistics.')
        return self._statistics_methods[method_name](self, *arg, **kwargs)

    def mean(self, window_size: int | None = None) -> float:
        """Sum of the last ``window_size`` values over the sum of their counts (all if None)."""
        logs, counts = self._tail(window_size)
        n = len(logs)
        if n > 128:
            logs_arr, counts_arr = np.asarray(logs, dtype=np.float64), np.asarray(counts)
            return float(logs_arr.sum() / counts_arr.sum())
        # A log line reads a 10-value window: summing the floats directly (in numpy's order,
        # so the result is the same to the bit) avoids building two arrays.
        total = float(n) if counts.count(1) == n else _small_sum(list(map(float, counts)))
        if not total:  # numpy's inf/nan (and its warning) for counts summing to zero
            return float(np.float64(_small_sum(list(map(float, logs)))) / np.float64(total))
        return _small_sum(list(map(float, logs))) / total

    def max(self, window_size: int | None = None) -> float:
        """Largest of the last ``window_size`` values (all if None)."""
        return float(self._window(window_size)[0].max())

    def min(self, window_size: int | None = None) -> float:
        """Smallest of the last ``window_size`` values (all if None)."""
        return float(self._window(window_size)[0].min())

    def current(self) -> float:
        """The latest value."""
        if not self._log_history:
            self._tail(1)  # raises the empty-buffer error
        self._materialize()
        return float(self._log_history[-1])

    def state_dict(self, max_values: int | None = None) -> dict:
        """Plain-data state: the last ``max_values`` values as floats, their counts, max_length."""
        logs, counts = self.data
        if max_values is not None:
            logs, counts = logs[-max_values:], counts[-max_values:]
        return {'log_history': logs.tolist(), 'count_history': counts.tolist(),
                'max_length': self.max_length}

    @classmethod
    def from_state_dict(cls, state: dict) -> HistoryBuffer:
        """Rebuild a buffer from :meth:`state_dict`'s output."""
        return cls(state['log_history'], state['count_history'], state['max_length'])

    def __len__(self) -> int:
        return len(self._log_history)

    def __repr__(self) -> str:
        return f'HistoryBuffer(len={len(self)}, max_length={self.max_length})'


for _name in ('mean', 'max', 'min', 'current'):
    HistoryBuffer._statistics_methods[_name] = getattr(HistoryBuffer, _name)
