"""Preemption (save-and-exit on a signal) and the hang watchdog of the training loops.

Preemption, configured with ``train_cfg=dict(..., preemption=dict(signals=['SIGTERM',
'SIGUSR1'], exit_code=None))`` (the default; ``preemption=None`` turns it off):

1. The signal handler only sets a flag and records the signal (no I/O, no locks: a handler
   may run between any two bytecodes, even inside a logging call).
2. At every iteration boundary the loop polls :meth:`PreemptionHandler.poll`. In a single
   process the flag is read directly. Under ``torch.distributed`` the ranks agree with one
   all-reduce (MAX) of the flag, on a CPU tensor over a gloo group, started asynchronously at
   one boundary and read at the next: no host-device sync and no blocking wait in the hot
   loop, at the cost of one iteration of delay. Every rank therefore stops at the same
   iteration even if only one received the signal.
3. All ranks save a checkpoint together (``preempt_iter_<n>.pth`` in the work_dir, pointed
   to by ``last_checkpoint``), then exit with ``exit_code`` (default ``128 + signum``, as a
   shell reports a death by that signal, so schedulers requeue the job).
4. A second signal while the first is pending exits at once (``os._exit``) with the same code.

The watchdog (``train_cfg=dict(..., hang_timeout=600)``, off by default) dumps the Python
stack of every thread of every rank to stderr (``faulthandler``) when one iteration takes
longer than ``hang_timeout`` seconds; re-arming it costs a timer reset per iteration.
"""
from __future__ import annotations

import faulthandler
import os
import signal
import sys
import threading
from typing import Any

import torch
import torch.distributed as torch_dist

_DEFAULT_SIGNALS = ('SIGTERM', 'SIGUSR1')


def _signal_number(sig: str | int) -> int:
    if isinstance(sig, int) and not isinstance(sig, bool):
        return sig
    if isinstance(sig, str) and isinstance(getattr(signal, sig.upper(), None), int):
        return int(getattr(signal, sig.upper()))
    raise ValueError(f'preemption.signals must hold signal names such as "SIGTERM" or '
                     f'numbers, but got {sig!r}.')


def parse_preemption(cfg: Any) -> dict | None:
    """Validate ``train_cfg.preemption`` and return ``{'signals': [...], 'exit_code': ...}``.

    Args:
        cfg: ``None``/``False`` (off), ``True`` (defaults) or a dict with ``signals`` (names
            or numbers) and ``exit_code`` (int, or None for ``128 + signum``).
    """
    if cfg is None or cfg is False:
        return None
    if cfg is True:
        cfg = {}
    if not isinstance(cfg, dict):
        raise TypeError(f'train_cfg.preemption must be a dict, True or None, but got '
                        f'{type(cfg).__name__}: {cfg!r}.')
    unknown = set(cfg) - {'signals', 'exit_code'}
    if unknown:
        raise ValueError(f'train_cfg.preemption has unknown keys {sorted(unknown)}; valid keys '
                         f'are signals and exit_code.')
    signals = cfg.get('signals', _DEFAULT_SIGNALS)
    signals = [signals] if isinstance(signals, (str, int)) else list(signals)
    exit_code = cfg.get('exit_code')
    if exit_code is not None and (not isinstance(exit_code, int) or isinstance(exit_code, bool)
                                  or not 0 <= exit_code <= 255):
        raise ValueError(f'train_cfg.preemption.exit_code must be an int in [0, 255] or None, '
                         f'but got {exit_code!r}.')
    return dict(signals=[_signal_number(s) for s in signals], exit_code=exit_code)


class PreemptionHandler:
    """Signal flag plus cross-rank agreement; see the module docstring.

    Args:
        signals: Signal numbers to handle.
        exit_code: Exit status after the save (None: ``128 + signum``).
    """

    def __init__(self, signals: list[int], exit_code: int | None) -> None:
        self.signals = signals
        self.exit_code = exit_code
        self.received: int | None = None
        self._previous: dict[int, Any] = {}
        self._group: Any = None
        self._buffer: torch.Tensor | None = None
        self._work: Any = None

    # ------------------------------------------------------------------ signals
    def _on_signal(self, signum: int, frame: Any) -> None:
        if self.received is not None:  # second signal: leave now, without any I/O
            os._exit(self.code(signum))
        self.received = signum

    def code(self, signum: int | None = None) -> int:
        """The exit status for ``signum`` (the configured one, else ``128 + signum``)."""
        if self.exit_code is not None:
            return self.exit_code
        return 128 + int(signum if signum is not None else self.received or signal.SIGTERM)

    def install(self) -> None:
        """Install the handlers (main thread only) and set up the agreement group."""
        if threading.current_thread() is not threading.main_thread():
            return  # signal.signal is only allowed in the main thread
        for signum in self.signals:
            self._previous[signum] = signal.signal(signum, self._on_signal)
        if torch_dist.is_available() and torch_dist.is_initialized():
            # A gloo group keeps the flag on the CPU, so agreeing never syncs an accelerator.
            backend = torch_dist.get_backend()
            self._group = None if backend == 'gloo' else torch_dist.new_group(backend='gloo')
            self._buffer = torch.zeros(1, dtype=torch.int32)

    def restore(self) -> None:
        """Put the previous handlers back and finish a pending all-reduce."""
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self._previous.clear()
        self._finish_round()

    def _finish_round(self) -> bool:
        if self._work is None or self._buffer is None:
            return False
        self._work.wait()
        self._work = None
        return bool(self._buffer.item())  # a CPU tensor: no device sync

    def poll(self) -> bool:
        """Whether every rank should save and exit now (call once per iteration boundary)."""
        if self._buffer is None:  # single process
            return self.received is not None
        agreed = self._finish_round()
        if agreed:
            return True
        self._buffer.fill_(int(self.received is not None))
        self._work = torch_dist.all_reduce(self._buffer, op=torch_dist.ReduceOp.MAX,
                                           group=self._group, async_op=True)
        return False


def save_and_exit(runner: Any, handler: PreemptionHandler) -> None:
    """Save ``preempt_iter_<n>.pth`` on every rank's behalf, point ``last_checkpoint`` at it,
    and exit with the handler's code (raises ``SystemExit``)."""
    from ..dist import barrier, is_main_process
    from .checkpoint import CheckpointSaveError, record_checkpoint, wait_for_checkpoint_commits
    loop = runner.train_loop
    filename = f'preempt_iter_{loop.iter}.pth'
    name = signal.Signals(handler.received).name if handler.received else 'a signal'
    runner.logger.warning(f'Preemption: {name} received; saving {filename} at iteration '
                          f'{loop.iter} (epoch {loop.epoch}) and exiting.')
    try:  # the CheckpointHook's last save is committed (and recorded) first, in order
        wait_for_checkpoint_commits()
    except CheckpointSaveError as exc:  # that one is lost; the state is saved below anyway
        runner.logger.error(f'An earlier checkpoint could not be committed: {exc}')
    runner.save_checkpoint(runner.work_dir, filename, meta=dict(epoch=loop.epoch,
                                                               iter=loop.iter),
                           by_epoch=False)
    if is_main_process():  # size and SHA-256 recorded, pointer replaced atomically
        record_checkpoint(runner.work_dir, os.path.join(runner.work_dir, filename),
                          epoch=loop.epoch, iter=loop.iter)
    barrier()
    code = handler.code()
    runner.logger.warning(f'Preemption checkpoint saved; exiting with code {code}. Re-run the '
                          f'same command with resume=True or resume="auto" to continue.')
    handler.restore()
    sys.exit(code)


class HangWatchdog:
    """Dump every thread's stack to stderr when an iteration exceeds ``timeout`` seconds."""

    def __init__(self, timeout: float | None) -> None:
        if timeout is not None and (not isinstance(timeout, (int, float)) or timeout <= 0):
            raise ValueError(f'train_cfg.hang_timeout must be a positive number of seconds or '
                             f'None, but got {timeout!r}.')
        self.timeout = timeout

    def arm(self) -> None:
        """(Re)start the countdown; called at every iteration boundary."""
        if self.timeout is not None:
            faulthandler.dump_traceback_later(self.timeout, repeat=False, file=sys.stderr)

    def disarm(self) -> None:
        """Stop the countdown (during validation and after training)."""
        if self.timeout is not None:
            faulthandler.cancel_dump_traceback_later()
