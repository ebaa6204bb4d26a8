"""The ``Hook`` base class: every stage at which the runner calls hooks, all no-ops here."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

DATA_BATCH = dict | tuple | list | None

# Every stage the runner calls, in the order they first fire in a training run.
STAGES = ('before_run', 'after_load_checkpoint', 'before_train', 'before_train_epoch',
          'before_train_iter', 'after_train_iter', 'after_train_epoch', 'before_val',
          'before_val_epoch', 'before_val_iter', 'after_val_iter', 'after_val_epoch',
          'after_val', 'before_save_checkpoint', 'after_train', 'before_test',
          'before_test_epoch', 'before_test_iter', 'after_test_iter', 'after_test_epoch',
          'after_test', 'after_run')


class Hook:
    """Base class of hooks; override the stages you need.

    The runner calls hooks in ascending priority value (``priority`` class attribute or the
    ``priority`` given when registering; ``'NORMAL'`` by default), and only those that
    override a stage. Where each stage fires and what it receives:

    =========================  ==============================================================
    stage                      fires / extra arguments
    =========================  ==============================================================
    ``before_run``             start of ``train()``, ``val()`` or ``test()``
    ``after_run``              end of ``train()``, ``val()`` or ``test()``
    ``before_train``           before the first training epoch/iteration (after resume)
    ``after_train``            after the last training epoch/iteration
    ``before_train_epoch``     start of each training epoch (iteration-based: once)
    ``after_train_epoch``      end of each training epoch, before ``runner.epoch`` advances
    ``before_train_iter``      before ``model.train_step``: ``batch_idx``, ``data_batch``
    ``after_train_iter``       after the step: ``batch_idx``, ``data_batch``, ``outputs``
                               (the dict of loss tensors), ``runner.iter`` not yet advanced
    ``before_val``/``_test``   start of a validation / test loop run
    ``after_val``/``_test``    end of a validation / test loop run
    ``before_val_epoch``       before iterating the val dataloader (same for test)
    ``after_val_epoch``        after ``evaluator.evaluate``: ``metrics`` (dict); same for test
    ``before_val_iter``        before ``model.val_step``: ``batch_idx``, ``data_batch``
    ``after_val_iter``         after it: ``batch_idx``, ``data_batch``, ``outputs`` (list of
                               predictions); same for test
    ``before_save_checkpoint`` ``checkpoint`` dict about to be written (may be edited)
    ``after_load_checkpoint``  ``checkpoint`` dict just loaded on resume/load
    =========================  ==============================================================

    Subclasses may instead override the mode-generic helpers ``_before_epoch``,
    ``_after_epoch``, ``_before_iter`` and ``_after_iter`` (which receive ``mode``) to act
    in all three loops at once.

    A hook whose configuration leaves a stage it overrides with nothing to do (a checkpoint
    hook saving by epoch, at ``after_train_iter``) may say so with
    :meth:`_set_idle_stages`; the runner then does not call it there at all.
    """

    priority = 'NORMAL'
    #: Bumped whenever a hook changes its idle stages, so dispatch caches are rebuilt.
    _idle_generation = 0
    _idle_stages: frozenset[str] = frozenset()

    def _set_idle_stages(self, stages: Iterable[str]) -> None:
        """Declare the overridden stages in which this instance has nothing to do for now.

        Dispatch then skips the hook there (no call at all), until the set changes.
        """
        idle = frozenset(stages)
        if idle != self._idle_stages:
            self._idle_stages = idle
            Hook._idle_generation += 1

    def before_run(self, runner: Any) -> None:
        """At the start of a run."""

    def after_run(self, runner: Any) -> None:
        """At the end of a run."""

    def before_train(self, runner: Any) -> None:
        """Before training starts."""

    def after_train(self, runner: Any) -> None:
        """After training ends."""

    def before_val(self, runner: Any) -> None:
        """Before a validation loop run."""

    def after_val(self, runner: Any) -> None:
        """After a validation loop run."""

    def before_test(self, runner: Any) -> None:
        """Before a test loop run."""

    def after_test(self, runner: Any) -> None:
        """After a test loop run."""

    def before_save_checkpoint(self, runner: Any, checkpoint: dict) -> None:
        """Before a checkpoint is written; ``checkpoint`` may be edited in place."""

    def after_load_checkpoint(self, runner: Any, checkpoint: dict) -> None:
        """After a checkpoint was loaded."""

    def before_train_epoch(self, runner: Any) -> None:
        """Before each training epoch."""
        self._before_epoch(runner, mode='train')

    def before_val_epoch(self, runner: Any) -> None:
        """Before each validation epoch."""
        self._before_epoch(runner, mode='val')

    def before_test_epoch(self, runner: Any) -> None:
        """Before each test epoch."""
        self._before_epoch(runner, mode='test')

    def after_train_epoch(self, runner: Any) -> None:
        """After each training epoch."""
        self._after_epoch(runner, mode='train')

    def after_val_epoch(self, runner: Any, metrics: dict[str, float] | None = None) -> None:
        """After each validation epoch, with the evaluated ``metrics``."""
        self._after_epoch(runner, mode='val')

    def after_test_epoch(self, runner: Any, metrics: dict[str, float] | None = None) -> None:
        """After each test epoch, with the evaluated ``metrics``."""
        self._after_epoch(runner, mode='test')

    def before_train_iter(self, runner: Any, batch_idx: int,
                          data_batch: DATA_BATCH = None) -> None:
        """Before each training iteration."""
        self._before_iter(runner, batch_idx=batch_idx, data_batch=data_batch, mode='train')

    def before_val_iter(self, runner: Any, batch_idx: int, data_batch: DATA_BATCH = None) -> None:
        """Before each validation iteration."""
        self._before_iter(runner, batch_idx=batch_idx, data_batch=data_batch, mode='val')

    def before_test_iter(self, runner: Any, batch_idx: int,
                         data_batch: DATA_BATCH = None) -> None:
        """Before each test iteration."""
        self._before_iter(runner, batch_idx=batch_idx, data_batch=data_batch, mode='test')

    def after_train_iter(self, runner: Any, batch_idx: int, data_batch: DATA_BATCH = None,
                         outputs: dict | None = None) -> None:
        """After each training iteration, with the step's ``outputs``."""
        self._after_iter(runner, batch_idx=batch_idx, data_batch=data_batch, outputs=outputs,
                         mode='train')

    def after_val_iter(self, runner: Any, batch_idx: int, data_batch: DATA_BATCH = None,
                       outputs: Any = None) -> None:
        """After each validation iteration, with the step's ``outputs``."""
        self._after_iter(runner, batch_idx=batch_idx, data_batch=data_batch, outputs=outputs,
                         mode='val')

    def after_test_iter(self, runner: Any, batch_idx: int, data_batch: DATA_BATCH = None,
                        outputs: Any = None) -> None:
        """After each test iteration, with the step's ``outputs``."""
        self._after_iter(runner, batch_idx=batch_idx, data_batch=data_batch, outputs=outputs,
                         mode='test')

    def _before_epoch(self, runner: Any, mode: str = 'train') -> None:
        """Before each epoch of any loop (``mode`` is 'train', 'val' or 'test')."""

    def _after_epoch(self, runner: Any, mode: str = 'train') -> None:
        """After each epoch of any loop."""

    def _before_iter(self, runner: Any, batch_idx: int, data_batch: DATA_BATCH = None,
                     mode: str = 'train') -> None:
        """Before each iteration of any loop."""

    def _after_iter(self, runner: Any, batch_idx: int, data_batch: DATA_BATCH = None,
                    outputs: Any = None, mode: str = 'train') -> None:
        """After each iteration of any loop."""

    # ----------------------------------------------------------------------- helpers
    def every_n_epochs(self, runner: Any, n: int, start: int = 0) -> bool:
        """Whether the current (0-based ``runner.epoch``) epoch ends an ``n``-epoch period.

        Counting starts at epoch ``start``; ``n <= 0`` never triggers.
        """
        dividend = runner.epoch + 1 - start
        return n > 0 and dividend >= 0 and dividend % n == 0

    def every_n_inner_iters(self, batch_idx: int, n: int) -> bool:
        """Whether ``batch_idx`` (within the epoch) ends an ``n``-iteration period."""
        return n > 0 and (batch_idx + 1) % n == 0

    def every_n_train_iters(self, runner: Any, n: int, start: int = 0) -> bool:
        """Whether the current global iteration ends an ``n``-iteration period from ``start``."""
        dividend = runner.iter + 1 - start
        return n > 0 and dividend >= 0 and dividend % n == 0

    def end_of_epoch(self, dataloader: Any, batch_idx: int) -> bool:
        """Whether ``batch_idx`` is the last batch of ``dataloader``."""
        return batch_idx + 1 == len(dataloader)

    def is_last_train_epoch(self, runner: Any) -> bool:
        """Whether the current epoch is the last training epoch."""
        return runner.epoch + 1 == runner.max_epochs

    def is_last_train_iter(self, runner: Any) -> bool:
        """Whether the current iteration is the last training iteration."""
        return runner.iter + 1 == runner.max_iters

    def get_triggered_stages(self) -> list[str]:
        """The stages this hook's class overrides (directly or via the ``_`` helpers)."""
        generic = {
            '_before_epoch': ('before_train_epoch', 'before_val_epoch', 'before_test_epoch'),
            '_after_epoch': ('after_train_epoch', 'after_val_epoch', 'after_test_epoch'),
            '_before_iter': ('before_train_iter', 'before_val_iter', 'before_test_iter'),
            '_after_iter': ('after_train_iter', 'after_val_iter', 'after_test_iter'),
        }
        overridden = {name for name in (*STAGES, *generic)
                      if getattr(type(self), name) is not getattr(Hook, name)}
        triggered = set()
        for name in overridden:
            triggered.update(generic.get(name, (name, )))
        return [stage for stage in STAGES if stage in triggered]
