from __future__ import annotations

import numpy as np
import pytest
import torch

from mmengine.logging import HistoryBuffer


def test_statistics_over_windows():
    buf = HistoryBuffer()
    for value in (3.0, 1, np.float32(5.0), np.array(2.0)):
        buf.update(value)
    assert buf.mean() == pytest.approx(11 / 4)
    assert buf.mean(2) == pytest.approx(3.5)
    assert buf.max() == 5.0 and buf.max(1) == 2.0
    assert buf.min() == 1.0 and buf.min(2) == 2.0
    assert buf.current() == 2.0
    assert all(isinstance(v, float) for v in (buf.mean(), buf.max(), buf.min(), buf.current()))
    logs, counts = buf.data
    assert logs.tolist() == [3.0, 1.0, 5.0, 2.0] and counts.tolist() == [1, 1, 1, 1]


def test_mean_divides_by_counts():
    buf = HistoryBuffer()
    buf.update(10.0, count=4)
    buf.update(2.0, count=1)
    assert buf.mean() == pytest.approx(12 / 5)


class _Deferred(torch.Tensor):
    """Stands in for an accelerator tensor: not exactly a CPU ``torch.Tensor``, so stored as
    is and converted when read (the path CUDA tensors take)."""


def test_tensors_off_the_cpu_are_stored_as_is_until_read():
    buf = HistoryBuffer()
    t = torch.tensor(1.5).as_subclass(_Deferred)
    buf.update(t)
    buf.update(torch.tensor([2.5]).as_subclass(_Deferred))
    assert buf._log_history[0] is t  # no conversion (no device sync) on update
    assert buf.mean() == pytest.approx(2.0)
    assert buf.current() == 2.5
    assert all(type(v) is float for v in buf._log_history)  # converted once, on read


def test_cpu_tensors_are_read_at_once_with_the_value_they_have_then():
    buf = HistoryBuffer()
    t = torch.tensor(1.5)
    buf.update(t)
    t += 10  # changed in place after the update: the logged value stays
    buf.update(torch.tensor([2], dtype=torch.int32))
    assert list(buf._log_history) == [1.5, 2.0]
    assert all(type(v) is float for v in buf._log_history) and buf._pending == 0
    assert buf.mean() == 1.75


def test_initial_history_and_max_length():
    buf = HistoryBuffer([1.0, 2.0, 3.0], [1, 1, 1], max_length=2)
    assert buf.data[0].tolist() == [2.0, 3.0]
    buf.update(4.0)
    assert buf.data[0].tolist() == [3.0, 4.0] and len(buf) == 2
    with pytest.raises(ValueError, match='same length'):
        HistoryBuffer([1.0], [])
    with pytest.raises(ValueError, match='max_length'):
        HistoryBuffer(max_length=0)


def test_errors():
    buf = HistoryBuffer()
    with pytest.raises(RuntimeError, match='empty'):
        buf.mean()
    assert buf.data[0].size == 0
    with pytest.raises(TypeError, match='must be numbers'):
        buf.update('1.0')
    buf.update(1.0)
    with pytest.raises(ValueError, match='window_size'):
        buf.mean(0)
    with pytest.raises(KeyError, match='not a registered statistic'):
        buf.statistics('median_of_nothing')


def test_register_custom_statistic():
    @HistoryBuffer.register_statistics
    def weighted_sum(buffer, scale=1.0):
        logs, counts = buffer.data
        return float((logs * counts).sum() * scale)

    buf = HistoryBuffer([1.0, 2.0], [2, 3])
    assert buf.statistics('weighted_sum') == 8.0
    assert buf.statistics('weighted_sum', scale=0.5) == 4.0
    assert buf.statistics('mean', 1) == pytest.approx(2 / 3)


def test_state_dict_round_trip_keeps_last_values():
    buf = HistoryBuffer()
    for i in range(10):
        buf.update(torch.tensor(float(i)))
    state = buf.state_dict(max_values=3)
    assert state == {'log_history': [7.0, 8.0, 9.0], 'count_history': [1, 1, 1],
                     'max_length': 1000000}
    restored = HistoryBuffer.from_state_dict(state)
    assert restored.mean() == pytest.approx(8.0)


@pytest.mark.gpu
def test_cuda_tensors_convert_on_read():
    buf = HistoryBuffer()
    for i in range(4):
        buf.update(torch.tensor(float(i), device='cuda'))
    assert buf._log_history[0].is_cuda
    assert buf.mean() == pytest.approx(1.5) and buf.max(2) == 3.0


def test_mean_is_bit_identical_to_numpy_for_every_window_size():
    rng = np.random.default_rng(0)
    values = (rng.random(300) * 10.0 ** rng.integers(-6, 6, 300)).tolist()
    counts = rng.integers(1, 4, 300).tolist()
    buf = HistoryBuffer(values, counts)
    for window in (*range(1, 140), 200, 299, 300, None):
        logs = np.asarray(values[-window:] if window else values, dtype=np.float64)
        cnts = np.asarray(counts[-window:] if window else counts)
        assert buf.mean(window) == float(logs.sum() / cnts.sum()), window
    ones = HistoryBuffer(values[:10], [1] * 10)
    assert ones.mean() == float(np.asarray(values[:10]).sum() / 10)


def test_mean_of_zero_counts_follows_numpy():
    with pytest.warns(RuntimeWarning):
        assert HistoryBuffer([1.0, 2.0], [0, 0]).mean() == float('inf')


@pytest.mark.parametrize('make', [
    lambda i: torch.tensor(i / 3),                                  # 0-d float32
    lambda i: torch.tensor([i / 3], dtype=torch.float64),           # (1,) float64
    lambda i: torch.tensor([[i]], dtype=torch.int64),               # (1, 1) int
    lambda i: torch.tensor(i / 3, dtype=torch.bfloat16),
    lambda i: torch.tensor(i / 3, requires_grad=True) * 1,          # part of a graph
    lambda i: torch.tensor(i / 3) if i % 2 else torch.tensor([i], dtype=torch.int32),  # mixed
], ids=['f32', 'f64-1', 'int-11', 'bf16', 'grad', 'mixed'])
@pytest.mark.parametrize('deferred', [False, True], ids=['cpu', 'deferred'])
def test_tensor_windows_convert_exactly_to_floats(make, deferred):
    tensors = [make(i) for i in range(12)]
    if deferred:
        tensors = [t.as_subclass(_Deferred) for t in tensors]
    buf = HistoryBuffer()
    for t in tensors:
        buf.update(t)
    expected = [t.detach().double().item() for t in tensors]
    assert buf.current() == expected[-1]
    assert buf.mean(10) == float(np.asarray(expected[-10:]).sum() / 10)
    assert list(buf._log_history) == expected
    assert all(type(v) is float for v in buf._log_history)


def test_tensor_counts_are_converted_too():
    buf = HistoryBuffer()
    buf.update(torch.tensor(6.0), count=torch.tensor(3))
    buf.update(2.0, count=1)
    assert buf.mean() == 2.0 and list(buf._count_history) == [3.0, 1]


def test_tensor_counts_after_a_read_are_converted_again():
    buf = HistoryBuffer()
    buf.update(torch.tensor(6.0), count=torch.tensor(3))
    assert buf.mean() == 2.0
    buf.update(torch.tensor(4.5), count=torch.tensor(3))
    buf.update(np.float32(1.5), count=1)  # after a tensor: converted with it
    assert buf.mean(2) == 1.5 and buf.mean() == 12.0 / 7
    assert list(buf._count_history) == [3.0, 3.0, 1.0]
    assert list(buf._log_history) == [6.0, 4.5, 1.5]
    assert all(type(v) is float for v in buf._log_history)
