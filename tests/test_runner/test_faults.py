"""FaultGuard's non-finite loss check: collected without syncs, checked when due."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from mmengine.runner._faults import FaultGuard, _all_finite, _fold


def _guard(interval: int) -> FaultGuard:
    guard = FaultGuard(preemption=None)
    guard._interval = interval
    return guard


def _runner(iteration: int) -> SimpleNamespace:
    return SimpleNamespace(iter=iteration, epoch=0)


class _Deferred(torch.Tensor):
    """Stands in for an accelerator loss: not exactly a CPU ``torch.Tensor``, so it is kept
    and read on the next due iteration (the path CUDA losses take)."""


def _on_device(value: float | torch.Tensor) -> torch.Tensor:
    tensor = value if isinstance(value, torch.Tensor) else torch.tensor(value)
    return tensor.as_subclass(_Deferred)


def test_losses_are_kept_detached_until_the_logged_iteration():
    guard = _guard(interval=5)
    weight = torch.ones((), requires_grad=True)
    for iteration in range(1, 5):
        guard.boundary(_runner(iteration), {'loss': _on_device(weight * 2)}, False, iteration)
    assert len(guard._pending) == 4
    assert not any(term.requires_grad for term in guard._pending)  # no graph kept alive
    guard.boundary(_runner(5), {'loss': _on_device(weight * 2)}, False, 5)
    assert guard._pending == []


@pytest.mark.parametrize('place', [_on_device, torch.tensor], ids=['deferred', 'cpu'])
def test_a_nan_is_reported_at_the_next_due_iteration_not_before(place):
    guard = _guard(interval=5)
    guard.boundary(_runner(1), {'loss': place(float('nan'))}, False, 1)
    for iteration in range(2, 5):
        guard.boundary(_runner(iteration), {'loss': place(1.0)}, False, iteration)
    with pytest.raises(FloatingPointError, match='at or before iteration 5'):
        guard.boundary(_runner(5), {'loss': place(1.0)}, False, 5)


def test_cpu_losses_are_read_at_once_and_not_kept():
    guard = _guard(interval=5)
    for iteration in range(1, 5):
        loss = float('inf') if iteration == 2 else 0.5
        guard.boundary(_runner(iteration), {'loss': torch.tensor(loss)}, False, iteration)
        assert guard._pending == []
    assert guard._bad
    with pytest.raises(FloatingPointError, match='at or before iteration 5'):
        guard.boundary(_runner(5), {'loss': torch.tensor(0.5)}, False, 5)
    guard.boundary(_runner(6), {'loss': torch.tensor(0.5)}, False, 6)  # checked: forgotten
    assert not guard._bad


def test_a_long_log_interval_folds_the_pending_losses_and_keeps_the_nan():
    guard = _guard(interval=10_000)
    for iteration in range(1, 200):
        loss = float('inf') if iteration == 7 else 0.5
        guard.boundary(_runner(iteration), {'loss': _on_device(loss)}, False, iteration)
        assert len(guard._pending) <= 64  # bounded without a host sync
    with pytest.raises(FloatingPointError):
        guard.boundary(_runner(200), {'loss': _on_device(0.5)}, True, 200)  # epoch end


def test_all_finite_and_fold_agree_on_mixed_dtypes():
    finite = [torch.tensor(1e30), torch.tensor(-2.0, dtype=torch.bfloat16)]
    assert _all_finite(finite)
    assert not _all_finite([*finite, torch.tensor(float('nan'))])
    folded = _fold([*finite, torch.tensor(float('-inf'))])
    assert len(folded) == 1 and torch.isnan(folded[0])
    assert _fold(finite)[0].item() == 0.0  # huge finite values do not overflow to inf


@pytest.mark.parametrize('place', [_on_device, torch.tensor], ids=['deferred', 'cpu'])
def test_a_nan_in_the_last_iterations_is_reported_when_the_run_ends(place):
    guard = _guard(interval=10)
    runner = SimpleNamespace(iter=13, epoch=0, hooks=[])
    with pytest.raises(FloatingPointError, match='at or before iteration 13'):
        with guard.active(runner):
            for iteration in range(11, 14):  # ends before the next logged iteration (20)
                loss = float('nan') if iteration == 12 else 0.5
                guard.boundary(runner, {'loss': place(loss)}, False, iteration)
    with guard.active(runner):  # nothing pending: nothing to report
        pass
