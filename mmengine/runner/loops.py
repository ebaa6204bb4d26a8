"""The training, validation and test loops the Runner drives.

One training iteration (DESIGN.md section 3)::

    hooks before_train_iter(batch_idx, data_batch)
    outputs = model.train_step(data_batch, optim_wrapper)
    hooks after_train_iter(batch_idx, data_batch, outputs)
"""
from __future__ import annotations

import bisect
from collections.abc import Iterator, Sequence
from contextlib import nullcontext
from typing import TYPE_CHECKING, Any

import torch
from torch.utils.data import DataLoader

from ..evaluator import Evaluator
from ..registry import LOOPS
from ._faults import FaultGuard, check_batches, evaluate_checked
from .amp import autocast
from .base_loop import BaseLoop
from .utils import calc_dynamic_intervals

if TYPE_CHECKING:
    from .runner import Runner


def _check_positive_int(name: str, value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f'{name} must be a positive int, but got {value!r}.')


class _TrainLoopMixin:
    """Validation scheduling shared by the epoch- and iteration-based training loops."""

    runner: Runner
    val_interval: int
    dynamic_milestones: list[int]
    dynamic_intervals: list[int]

    faults: FaultGuard
    dataloader: Any
    _max_epochs: int
    _max_iters: int
    _iter: int

    @property
    def max_epochs(self) -> int:
        """Total number of training epochs (passes over the data)."""
        return self._max_epochs

    @property
    def max_iters(self) -> int:
        """Total number of training iterations."""
        return self._max_iters

    @property
    def iter(self) -> int:
        """Number of completed iterations."""
        return self._iter

    def _setup_training(self, val_begin: int, val_interval: int,
                        dynamic_intervals: list | None, fault_options: tuple) -> None:
        check_batches(self.dataloader, 'train_dataloader')
        self.faults = FaultGuard(*fault_options)
        self._iter = 0
        self._setup_validation(val_begin, val_interval, dynamic_intervals)

    def _train_step(self, batch_idx: int, data_batch: Any) -> Any:
        """Hooks around ``model.train_step``; returns the step's outputs."""
        runner = self._runner  # (the attribute: this runs every iteration)
        runner.call_hook('before_train_iter', batch_idx=batch_idx, data_batch=data_batch)
        outputs = runner.model.train_step(data_batch, optim_wrapper=runner.optim_wrapper)
        runner.call_hook('after_train_iter', batch_idx=batch_idx, data_batch=data_batch,
                         outputs=outputs)
        self._iter += 1
        return outputs

    def _setup_validation(self, val_begin: int, val_interval: int,
                          dynamic_intervals: list | None) -> None:
        _check_positive_int('val_interval', val_interval)
        self.val_begin = val_begin
        self.val_interval = val_interval
        self.stop_training = False
        self.dynamic_milestones, self.dynamic_intervals = calc_dynamic_intervals(
            val_interval, dynamic_intervals)

    def _decide_current_val_interval(self, progress: int) -> None:
        step = bisect.bisect(self.dynamic_milestones, progress + 1)
        self.val_interval = self.dynamic_intervals[step - 1]

    def _should_validate(self, progress: int, last: int) -> bool:
        return (self.runner.val_loop is not None and progress >= self.val_begin
                and (progress % self.val_interval == 0 or progress == last))

    def _validate(self) -> None:
        # The hang deadline is per training iteration; a long validation must not trip it.
        self.faults.watchdog.disarm()
        self.runner.val_loop.run()
        self.faults.watchdog.arm()


def _dataset_metainfo(dataloader: Any) -> Any:
    dataset = getattr(dataloader, 'dataset', None)
    return getattr(dataset, 'metainfo', None)


@LOOPS.register_module()
class EpochBasedTrainLoop(BaseLoop, _TrainLoopMixin):
    """Train for ``max_epochs`` epochs, validating every ``val_interval`` epochs.

    Args:
        runner: The runner.
        dataloader: The training dataloader or its config.
        max_epochs: Number of epochs to train.
        val_begin: First epoch after which validation may run.
        val_interval: Validate every this many epochs (and after the last one).
        dynamic_intervals: ``[(epoch, interval), ...]`` changing ``val_interval`` from an
            epoch on.
        check_finite: Check the loss for NaN/inf every iteration (one sync each) instead
            of only on logged iterations and epoch ends.
        nonfinite: ``'stop'`` (raise ``FloatingPointError`` with the iteration, losses and
            hints) or ``'skip'`` (skip the update of a non-finite loss; checks every step).
        preemption: ``dict(signals=['SIGTERM', 'SIGUSR1'], exit_code=None)`` (``True``:
            these defaults; ``None``: off): save ``preempt_iter_<n>.pth`` at the next
            iteration boundary and exit. See ``docs/reliability.md``.
        hang_timeout: Dump every thread's stack when one iteration takes longer than this
            many seconds (None: off).
    """

    def __init__(self, runner: Runner, dataloader: DataLoader | dict, max_epochs: int,
                 val_begin: int = 1, val_interval: int = 1,
                 dynamic_intervals: list[tuple[int, int]] | None = None,
                 check_finite: bool = False, nonfinite: str = 'stop',
                 preemption: dict | bool | None = True,
                 hang_timeout: float | None = None) -> None:
        super().__init__(runner, dataloader)
        _check_positive_int('max_epochs', max_epochs)
        self._max_epochs = int(max_epochs)
        self._epoch_length = len(self.dataloader)
        self._max_iters = self._max_epochs * self._epoch_length
        self._epoch = 0
        # Batches of the current epoch already fetched; lets a mid-epoch checkpoint resume
        # at the next batch.
        self._batch_in_epoch = 0
        self._setup_training(val_begin, val_interval, dynamic_intervals,
                             (check_finite, nonfinite, preemption, hang_timeout))

    @property
    def epoch(self) -> int:
        """Number of completed epochs."""
        return self._epoch

    def run(self) -> torch.nn.Module:
        """Train until ``max_epochs`` or until a hook sets ``stop_training``."""
        self.runner.call_hook('before_train')
        with self.faults.active(self.runner):
            while self._epoch < self._max_epochs and not self.stop_training:
                self.run_epoch()
                self._decide_current_val_interval(self._epoch - 1)
                if self._should_validate(self._epoch, self._max_epochs):
                    self._validate()
        self.runner.call_hook('after_train')
        return self.runner.model

    def run_epoch(self) -> None:
        """Iterate over the dataloader once (from the resume point when resuming)."""
        self.runner.call_hook('before_train_epoch')
        self.runner.model.train()
        for idx, data_batch in enumerate(self.dataloader, self._batch_in_epoch):
            self._batch_in_epoch = idx + 1
            self.run_iter(idx, data_batch)
        self.runner.call_hook('after_train_epoch')
        self._epoch += 1
        self._batch_in_epoch = 0

    def run_iter(self, idx: int, data_batch: Any) -> None:
        """Run one training iteration."""
        outputs = self._train_step(idx, data_batch)
        self.faults.boundary(self._runner, outputs, idx + 1 == self._epoch_length, self._iter)


class _InfiniteDataloaderIterator:
    """Iterate a dataloader endlessly, starting a new pass (and sampler epoch) when one ends."""

    def __init__(self, dataloader: DataLoader, epoch: int = 0) -> None:
        self._dataloader = dataloader
        self.epoch = epoch
        self.batch_in_epoch = 0
        self._iterator: Iterator | None = None

    def __iter__(self) -> _InfiniteDataloaderIterator:
        return self

    def __next__(self) -> Any:
        if self._iterator is None:
            self._iterator = iter(self._dataloader)
        try:
            data = next(self._iterator)
        except StopIteration:
            self.epoch += 1
            self.batch_in_epoch = 0
            _set_sampler_epoch(self._dataloader, self.epoch)
            self._iterator = iter(self._dataloader)
            data = next(self._iterator)
        self.batch_in_epoch += 1
        return data


def _set_sampler_epoch(dataloader: DataLoader, epoch: int) -> None:
    sampler = _index_sampler(dataloader)
    if sampler is not None and hasattr(sampler, 'set_epoch'):
        sampler.set_epoch(epoch)


def _index_sampler(dataloader: Any) -> Any:
    """The sampler that yields dataset indices (inside a batch sampler if there is one)."""
    batch_sampler = getattr(dataloader, 'batch_sampler', None)
    inner = getattr(batch_sampler, 'sampler', None)
    if inner is not None and hasattr(inner, 'set_epoch'):
        return inner
    return getattr(dataloader, 'sampler', None)


@LOOPS.register_module()
class IterBasedTrainLoop(BaseLoop, _TrainLoopMixin):
    """Train for ``max_iters`` iterations, validating every ``val_interval`` iterations.

    Args:
        runner: The runner.
        dataloader: The training dataloader or its config (usually with ``InfiniteSampler``).
        max_iters: Number of iterations to train.
        val_begin: First iteration after which validation may run.
        val_interval: Validate every this many iterations (and after the last one).
        dynamic_intervals: ``[(iteration, interval), ...]`` changing ``val_interval``.
        check_finite: As in :class:`EpochBasedTrainLoop`.
        nonfinite: As in :class:`EpochBasedTrainLoop`.
        preemption: As in :class:`EpochBasedTrainLoop`.
        hang_timeout: As in :class:`EpochBasedTrainLoop`.
    """

    def __init__(self, runner: Runner, dataloader: DataLoader | dict, max_iters: int,
                 val_begin: int = 1, val_interval: int = 1000,
                 dynamic_intervals: list[tuple[int, int]] | None = None,
                 check_finite: bool = False, nonfinite: str = 'stop',
                 preemption: dict | bool | None = True,
                 hang_timeout: float | None = None) -> None:
        super().__init__(runner, dataloader)
        _check_positive_int('max_iters', max_iters)
        self._max_iters = int(max_iters)
        try:
            self._max_epochs = max(1, -(-self._max_iters // len(self.dataloader)))
        except TypeError:  # an iterable dataset without a length
            self._max_epochs = 1
        self.dataloader_iterator = _InfiniteDataloaderIterator(self.dataloader)
        self._setup_training(val_begin, val_interval, dynamic_intervals,
                             (check_finite, nonfinite, preemption, hang_timeout))

    @property
    def epoch(self) -> int:
        """Number of completed passes over the data."""
        return self.dataloader_iterator.epoch

    @property
    def _batch_in_epoch(self) -> int:
        return self.dataloader_iterator.batch_in_epoch

    def run(self) -> torch.nn.Module:
        """Train until ``max_iters`` or until a hook sets ``stop_training``."""
        self.runner.call_hook('before_train')
        # An iteration-based run has one "epoch" from the hooks' point of view.
        self.runner.call_hook('before_train_epoch')
        with self.faults.active(self.runner):
            while self._iter < self._max_iters and not self.stop_training:
                model = self._runner.model
                if not model.training:  # after a validation (train() walks every module)
                    model.train()
                data_batch = next(self.dataloader_iterator)
                self.run_iter(data_batch)
                self._decide_current_val_interval(self._iter - 1)
                if self._should_validate(self._iter, self._max_iters):
                    self._validate()
        self.runner.call_hook('after_train_epoch')
        self.runner.call_hook('after_train')
        return self.runner.model

    def run_iter(self, data_batch: Any) -> None:
        """Run one training iteration."""
        outputs = self._train_step(self._iter, data_batch)
        self.faults.boundary(self._runner, outputs, False, self._iter)


class _EvalLoop(BaseLoop):
    """Shared body of the validation and test loops; ``_mode`` is 'val' or 'test'."""

    _mode = 'val'

    def __init__(self, runner: Runner, dataloader: DataLoader | dict,
                 evaluator: Evaluator | dict | Sequence, fp16: bool = False) -> None:
        super().__init__(runner, dataloader)
        check_batches(self.dataloader, f'{self._mode}_dataloader')
        if not isinstance(evaluator, Evaluator):
            evaluator = runner.build_evaluator(evaluator)
        self.evaluator = evaluator
        metainfo = _dataset_metainfo(self.dataloader)
        if metainfo is not None:
            self.evaluator.dataset_meta = metainfo
        self.fp16 = fp16

    def run(self) -> dict:
        """Run the model over the whole dataloader and return the evaluator's metrics."""
        mode = self._mode
        self.runner.call_hook(f'before_{mode}')
        self.runner.call_hook(f'before_{mode}_epoch')
        self.runner.model.eval()
        for idx, data_batch in enumerate(self.dataloader):
            self.run_iter(idx, data_batch)
        metrics = evaluate_checked(self.evaluator, len(self.dataloader.dataset))
        self.runner.call_hook(f'after_{mode}_epoch', metrics=metrics)
        self.runner.call_hook(f'after_{mode}')
        return metrics

    @torch.no_grad()
    def run_iter(self, idx: int, data_batch: Any) -> None:
        """Predict one batch and feed the predictions to the evaluator."""
        mode = self._mode
        self.runner.call_hook(f'before_{mode}_iter', batch_idx=idx, data_batch=data_batch)
        step = getattr(self.runner.model, f'{mode}_step')
        with autocast() if self.fp16 else nullcontext():
            outputs = step(data_batch)
        self.evaluator.process(data_samples=outputs, data_batch=data_batch)
        self.runner.call_hook(f'after_{mode}_iter', batch_idx=idx, data_batch=data_batch,
                              outputs=outputs)


@LOOPS.register_module()
class ValLoop(_EvalLoop):
    """Validate the model on the validation dataloader.

    Args:
        runner: The runner.
        dataloader: The validation dataloader or its config.
        evaluator: An evaluator, or a metric config / list of them.
        fp16: Run the model under autocast.
    """

    _mode = 'val'


@LOOPS.register_module()
class TestLoop(_EvalLoop):
    """Test the model on the test dataloader (same arguments as :class:`ValLoop`)."""

    _mode = 'test'
