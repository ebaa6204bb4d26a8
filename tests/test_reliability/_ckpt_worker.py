"""Subprocess side of the checkpoint fault-injection tests.

``python -m tests.test_reliability._ckpt_worker <mode> <work_dir>`` trains the rings model
(with a large buffer so each checkpoint takes a moment to write) for 3 epochs, saving every
epoch. Modes:

- ``plain``: nothing special (the parent kills it with SIGKILL while it writes epoch 2);
- ``preempt``: the default preemption handling (the parent sends SIGTERM during epoch 2);
- ``fsize``: after epoch 1 is saved, RLIMIT_FSIZE drops below a checkpoint's size with
  SIGXFSZ ignored, so the epoch-2 save fails like a full disk.
"""
from __future__ import annotations

import os
import resource
import signal
import sys
import time

import torch
from torch.utils.data import DataLoader

from mmengine.hooks import Hook
from mmengine.runner import Runner
from tests._helpers.toy import RingsDataset, RingsModel

BIG = 1_000_000  # floats: a 4 MB checkpoint


class BigRings(RingsModel):
    def __init__(self) -> None:
        super().__init__()
        self.register_buffer('ballast', torch.zeros(BIG))


class LimitFileSize(Hook):
    priority = 'LOWEST'  # after the CheckpointHook saved epoch 1

    def after_train_epoch(self, runner) -> None:
        if runner.epoch == 0:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, resource.RLIM_INFINITY))


class RecordStart(Hook):
    """Notes where training started (after any resume) as ``resumed_from`` in the hub."""

    def before_train(self, runner) -> None:
        runner.message_hub.update_info('resumed_from', (runner.epoch, runner.iter))


def build(work_dir: str, mode: str = 'plain', resume: bool = False) -> Runner:
    """The runner the tests use in both the killed process and the resuming one."""
    hooks = [RecordStart()] + ([LimitFileSize()] if mode == 'fsize' else [])
    return Runner(
        model=BigRings(), work_dir=work_dir,
        train_dataloader=DataLoader(RingsDataset(True, 64), batch_size=16, shuffle=False),
        train_cfg=dict(by_epoch=True, max_epochs=3),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1),
                           logger=dict(type='LoggerHook', interval=100)),
        custom_hooks=hooks, resume=resume, randomness=dict(seed=0),
        experiment_name=f'ckpt_worker_{mode}_{int(resume)}')


def pause_mid_write(stall: float) -> None:
    """Stall the epoch-2 save half-way (after 1 MB) and say so on stdout, so the parent's
    signal lands while the checkpoint is being written."""
    from mmengine.runner import checkpoint
    original = checkpoint._HashingWriter.write

    def write(self, data):
        nonlocal stall
        written = original(self, data)
        target = os.readlink(f'/proc/self/fd/{self._file.fileno()}')
        if '.epoch_2.pth.' in target and self.size > (1 << 20):
            print('MIDWRITE', flush=True)
            time.sleep(stall)
            stall = 0.0
        return written

    checkpoint._HashingWriter.write = write


def main(mode: str, work_dir: str) -> None:
    if mode in ('plain', 'preempt'):
        pause_mid_write(1.0 if mode == 'preempt' else 60.0)
    build(work_dir, mode).train()


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2])
