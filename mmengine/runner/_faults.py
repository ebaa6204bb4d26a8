"""What the training loops do about faults: non-finite losses, preemption, hangs, bad input.

:class:`FaultGuard` is built by the training loops from their ``train_cfg`` options and called
once per iteration boundary:

- ``check_finite`` / ``nonfinite``: a non-finite loss is noticed without extra host-device
  syncs: each iteration keeps the step's total loss (a detached tensor, no sync), and the
  kept losses are read only on the iterations the ``LoggerHook`` logs (they sync anyway to
  print the loss) and at the end of an epoch. A CPU loss has nothing to wait for and is read
  at once; its verdict still waits for those iterations, so every rank checks (and agrees)
  at the same ones. ``check_finite=True`` checks every iteration.
  ``nonfinite='stop'`` (default) raises ``FloatingPointError`` with the iteration, the loss
  dict and hints; ``nonfinite='skip'`` checks the loss before every update (one sync per
  iteration, agreed across ranks) and skips the backward pass and step of a non-finite loss.
- ``preemption``: see :mod:`._preemption`.
- ``hang_timeout``: see :class:`._preemption.HangWatchdog`.
"""
from __future__ import annotations

import math
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch

from ..dist import all_reduce, is_distributed
from ..logging.history_buffer import _cpu_number, _to_numbers
from ._preemption import HangWatchdog, PreemptionHandler, parse_preemption, save_and_exit

_ACTIONS = ('stop', 'skip')
_HINT = ('Try a lower learning rate (optim_wrapper.optimizer.lr), gradient clipping '
         '(optim_wrapper.clip_grad=dict(max_norm=...)), or, with fp16 AMP, loss_scale='
         "'dynamic' or dtype='bfloat16' (an fp16 overflow). train_cfg.check_finite=True stops "
         "at the first bad iteration; train_cfg.nonfinite='skip' skips such steps instead.")


def _loss_dict(outputs: Any) -> dict[str, float]:
    if not isinstance(outputs, dict):
        return {}
    return {k: float(v.detach().float().mean()) for k, v in outputs.items()
            if isinstance(v, torch.Tensor) and v.numel()}


def _loss_term(outputs: Any) -> torch.Tensor | None:
    """A detached 0-d tensor that is non-finite exactly when the step's loss is (no sync).

    Only the total ``'loss'`` is looked at when there is one (every other entry of a default
    ``parse_losses`` feeds into it or is logged separately); otherwise every floating tensor
    of ``outputs`` is.
    """
    if not isinstance(outputs, dict):
        return None
    loss = outputs.get('loss')
    if type(loss) is torch.Tensor and loss.dim() == 0 and loss.is_floating_point():
        # parse_losses already detached it; a custom train_step may not have, and keeping
        # a tensor with its graph until the next check would keep the graph alive.
        return loss.detach() if loss.requires_grad else loss
    if isinstance(loss, torch.Tensor) and loss.is_floating_point():
        values = [loss]
    else:
        values = [v for v in outputs.values()
                  if isinstance(v, torch.Tensor) and v.is_floating_point()]
    if len(values) == 1 and values[0].dim() == 0:
        return values[0].detach()
    # x * 0 is 0 for finite x and NaN otherwise, so the sum cannot overflow.
    terms = [v.detach().float().mul(0).sum() for v in values]
    return sum(terms[1:], terms[0]) if terms else None


def _fold(terms: list[torch.Tensor]) -> list[torch.Tensor]:
    """0-d tensors (one per device), non-finite exactly when one of ``terms`` is; no sync."""
    by_device: dict[Any, list[torch.Tensor]] = {}
    for term in terms:
        by_device.setdefault(term.device, []).append(term.float())
    # x * 0 is 0 for finite x and NaN otherwise, so the sum cannot overflow.
    return [torch.stack(group).mul_(0).sum() for group in by_device.values()]


def _all_finite(terms: list[torch.Tensor]) -> bool:
    """Whether every 0-d tensor of ``terms`` is finite (one host transfer per device, the
    conversion the LogProcessor's history buffers use)."""
    return all(map(math.isfinite, _to_numbers(terms)))


def _any_rank(flag: bool, device: Any) -> bool:
    """Whether ``flag`` holds on any rank (identity in one process)."""
    if not is_distributed():
        return flag
    tensor = torch.tensor([int(flag)], device=device)
    all_reduce(tensor, op='max')
    return bool(tensor.item())


def _log_interval(runner: Any) -> int:
    from ..hooks import LoggerHook
    for hook in runner.hooks:
        if isinstance(hook, LoggerHook):
            return hook.interval
    return 10


def _wrappers(optim_wrapper: Any) -> list[Any]:
    if hasattr(optim_wrapper, 'values') and not hasattr(optim_wrapper, 'update_params'):
        return list(optim_wrapper.values())
    return [optim_wrapper]


class FaultGuard:
    """Per-iteration fault handling of a training loop (see the module docstring).

    Args:
        check_finite: Check the loss every iteration instead of on logged ones.
        nonfinite: ``'stop'`` or ``'skip'``.
        preemption: ``train_cfg.preemption`` (True: defaults; None/False: off).
        hang_timeout: Seconds one iteration may take before stacks are dumped (None: off).
    """

    def __init__(self, check_finite: bool = False, nonfinite: str = 'stop',
                 preemption: dict | bool | None = True,
                 hang_timeout: float | None = None) -> None:
        if nonfinite not in _ACTIONS:
            raise ValueError(f'train_cfg.nonfinite must be one of {_ACTIONS}, but got '
                             f'{nonfinite!r}.')
        self.check_finite = bool(check_finite)
        self.nonfinite = nonfinite
        options = parse_preemption(preemption)
        self.preemption = PreemptionHandler(**options) if options else None
        self.watchdog = HangWatchdog(hang_timeout)
        self.skipped = 0
        # The (detached, 0-d) accelerator losses since the last check: checking them costs
        # one sync, done only on iterations that sync anyway; collecting them costs a list
        # append. CPU losses are read at once into ``_bad``; ``_last`` is the latest loss of
        # either kind (None once checked), so every rank knows alike that a check is owed.
        self._pending: list[torch.Tensor] = []
        self._bad = False
        self._last: torch.Tensor | None = None
        self._interval = 10
        self._stop = nonfinite == 'stop'
        self._watch = hang_timeout is not None
        # The watchdog is armed with some slack and re-armed only once that slack is used
        # up, so a boundary costs a clock read rather than a faulthandler call, and a dump
        # still needs an iteration of at least ``hang_timeout`` seconds.
        self._slack = 0.25 * hang_timeout if hang_timeout is not None else 0.0
        if hang_timeout is not None:
            self.watchdog.timeout = hang_timeout + self._slack
        self._armed_at = 0.0

    @contextmanager
    def active(self, runner: Any) -> Iterator[None]:
        """Install signal handlers, the watchdog and the skip guard for one ``run()``."""
        self._interval = _log_interval(runner)
        patched = self._install_skip(runner) if self.nonfinite == 'skip' else []
        if self.preemption is not None:
            self.preemption.install()
        self._arm()
        try:
            yield
            if self._stop and self._last is not None:  # a run may end between two checks
                self._verify(runner, None, self._last.device)
        finally:
            self.watchdog.disarm()
            if self.preemption is not None:
                self.preemption.restore()
            for wrapper in patched:
                vars(wrapper).pop('update_params', None)

    def boundary(self, runner: Any, outputs: Any, end_of_epoch: bool,
                 iteration: int | None = None) -> None:
        """Called after each iteration: check the loss, act on preemption, re-arm.

        Args:
            runner: The runner.
            outputs: What the training step returned.
            end_of_epoch: Whether the iteration ended an epoch (a check is due).
            iteration: The number of completed iterations (``runner.iter`` if None).
        """
        if self._stop:
            self._check(runner, outputs, end_of_epoch,
                        runner.iter if iteration is None else iteration)
        if self.preemption is not None and self.preemption.poll():
            save_and_exit(runner, self.preemption)
        if self._watch and time.monotonic() - self._armed_at >= self._slack:
            self._arm()

    def _arm(self) -> None:
        if self._watch:
            self._armed_at = time.monotonic()
            self.watchdog.arm()

    # ------------------------------------------------------------------ non-finite loss
    def _check(self, runner: Any, outputs: Any, end_of_epoch: bool, iteration: int) -> None:
        term = _loss_term(outputs)
        if term is None:
            return
        self._last = term
        pending = self._pending
        number = _cpu_number(term, torch.Tensor)  # a CPU loss: half the cost of a read later
        if number is None:
            pending.append(term)
        else:
            self._bad = self._bad or not math.isfinite(number)
        if not (self.check_finite or end_of_epoch or iteration % self._interval == 0):
            if len(pending) >= 64:  # a long log interval: fold them, still without a sync
                pending[:] = _fold(pending)
            return
        self._verify(runner, outputs, term.device)  # the logged iteration syncs anyway

    def _verify(self, runner: Any, outputs: Any, device: Any) -> None:
        """Check (and forget) the losses since the last check; raise if one was not finite."""
        bad = self._bad or not _all_finite(self._pending)
        self._pending.clear()
        self._bad = False
        self._last = None
        if _any_rank(bad, device):
            where = ('at iteration' if self.check_finite else
                     'at or before iteration')
            raise FloatingPointError(
                f'Non-finite loss {where} {runner.iter} (epoch {runner.epoch}); the losses of '
                f'iteration {runner.iter} are {_loss_dict(outputs)}. {_HINT}')

    def _install_skip(self, runner: Any) -> list[Any]:
        wrappers = _wrappers(runner.optim_wrapper)
        for wrapper in wrappers:
            # An instance attribute shadows the method for this run only (removed after it).
            wrapper.update_params = self._guarded(runner, wrapper, type(wrapper).update_params)
        return wrappers

    def _guarded(self, runner: Any, wrapper: Any, update: Any) -> Any:
        def update_params(loss: torch.Tensor, step_kwargs: dict | None = None,
                          zero_kwargs: dict | None = None) -> None:
            bad = not bool(torch.isfinite(loss.detach()).all())
            if _any_rank(bad, loss.device):  # every rank must skip, or DDP would deadlock
                self.skipped += 1
                wrapper.zero_grad()
                runner.logger.warning(f'Non-finite loss at iteration {runner.iter}: the step is '
                                      f'skipped ({self.skipped} skipped so far).')
                return
            update(wrapper, loss, step_kwargs, zero_kwargs)
        return update_params


# ---------------------------------------------------------------------- bad input
def check_batches(dataloader: Any, name: str) -> None:
    """Raise when ``dataloader`` yields no batch; warn when one batch exceeds the dataset."""
    dataset = getattr(dataloader, 'dataset', None)
    try:
        size, batches = len(dataset), len(dataloader)  # type: ignore[arg-type]
    except TypeError:  # an iterable dataset without a length
        return
    batch_size = getattr(dataloader, 'batch_size', None)
    drop_last = getattr(dataloader, 'drop_last', False)
    if size == 0:
        raise ValueError(f'{name}: the dataset {type(dataset).__name__} is empty (0 samples); '
                         f'check its data root / annotation file and filters.')
    if batches == 0:
        raise ValueError(f'{name} yields no batch: the dataset has {size} samples (per rank: '
                         f'{len(getattr(dataloader, "sampler", dataset))}), batch_size='
                         f'{batch_size} and drop_last={drop_last}. Lower batch_size or set '
                         f'drop_last=False.')
    if batch_size is not None and batch_size > size:
        warnings.warn(f'{name}: batch_size={batch_size} is larger than the dataset '
                      f'({size} samples), so every batch is smaller than batch_size.',
                      stacklevel=3)


def evaluate_checked(evaluator: Any, size: int) -> dict:
    """``evaluator.evaluate(size)``, naming the metric whose ``compute_metrics`` did not return
    a dict."""
    metrics = [m for m in getattr(evaluator, 'metrics', []) if hasattr(m, 'compute_metrics')
               and 'compute_metrics' not in vars(m)]
    for metric in metrics:
        metric.compute_metrics = _checked_compute(metric)
    try:
        result = evaluator.evaluate(size)
    finally:
        for metric in metrics:
            vars(metric).pop('compute_metrics', None)
    if not isinstance(result, dict):
        raise TypeError(f'{type(evaluator).__name__}.evaluate must return a dict of metrics, '
                        f'but returned {type(result).__name__}: {result!r:.80}.')
    return result


def _checked_compute(metric: Any) -> Any:
    compute = type(metric).compute_metrics

    def compute_metrics(results: list) -> dict:
        value = compute(metric, results)
        if not isinstance(value, dict):
            raise TypeError(f'{type(metric).__name__}.compute_metrics must return a dict '
                            f'mapping metric names to values, but returned '
                            f'{type(value).__name__}: {value!r:.80}.')
        return value
    return compute_metrics


@contextmanager
def log_failure(runner: Any, what: str) -> Iterator[None]:
    """Write an exception escaping ``what`` to the runner's log (naming the rank) and re-raise.

    Under ``torchrun`` or SLURM each rank's log then says which rank failed and why, even
    when the launcher only reports an exit code.
    """
    try:
        yield
    except Exception as exc:
        import traceback
        runner.logger.error(f'{what} failed on rank {runner.rank} at iteration {runner.iter} '
                            f'(epoch {runner.epoch}): {type(exc).__name__}: {exc}\n'
                            f'{traceback.format_exc()}')
        raise


def prepare_work_dir(path: str) -> None:
    """Create ``path`` and check a file can be written there, before anything else is made."""
    import os
    import tempfile
    try:
        os.makedirs(path, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise type(exc)(exc.errno, f'work_dir {path!r} cannot be used: {exc.strerror or exc}. '
                                   f'Give a writable directory as work_dir.') from exc


def resolve_resume(resume: Any, load_from: str | None, work_dir: str
                   ) -> tuple[str | None, bool]:
    """Turn the ``resume`` argument into ``(load_from, resume)``.

    ``resume='auto'`` resumes from the newest checkpoint in ``work_dir`` when there is one
    (``load_from`` is then ignored) and otherwise starts fresh, loading ``load_from`` weights
    if given: a script re-run after a preemption continues without changing any flag.
    """
    if resume == 'auto':
        from .checkpoint import find_latest_checkpoint
        if find_latest_checkpoint(work_dir) is not None:
            return None, True
        return load_from, False
    if not isinstance(resume, bool):
        raise ValueError(f"resume must be True, False or 'auto', but got {resume!r}.")
    return load_from, resume
