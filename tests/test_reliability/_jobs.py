"""Training jobs run in forked children by the reliability tests (see ``_zygote``).

``train(work_dir, ...)`` trains a tiny model whose data pipeline draws from ``random``, numpy
and torch, whose model uses dropout, with shuffling samplers, validation, schedulers and
(optionally) bf16 autocast, in deterministic mode. A recorder hook appends every iteration's
loss and lr (as exact hex floats) to ``<work_dir>/records.jsonl``; at the end the model and
optimizer states go to ``<work_dir>/final.pt``. Fault injection: ``kill_at`` SIGKILLs the
process in the middle of that iteration (after the batch was fetched, before the step);
``signal_at`` sends ``signals`` to itself (from outside the loop's control flow).
"""
from __future__ import annotations

import json
import os
import random
import signal
import time
from typing import Any

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import Dataset

from mmengine.evaluator import BaseMetric
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner


class TinyNet(BaseModel):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.2))
        self.head = nn.Linear(16, 2)

    def forward(self, inputs, labels, mode='tensor'):
        inputs = torch.stack(inputs) if isinstance(inputs, list) else inputs
        labels = torch.stack(labels) if isinstance(labels, list) else labels
        logits = self.head(self.body(inputs))
        if mode == 'loss':
            return dict(loss=F.cross_entropy(logits.float(), labels))
        return logits.argmax(1), labels


class AugmentedData(Dataset):
    """Fixed points plus augmentation drawn from random, numpy and torch."""

    def __init__(self, size: int = 24) -> None:
        gen = torch.Generator().manual_seed(0)
        self.points = torch.randn(size, 4, generator=gen)
        self.labels = (self.points.sum(1) > 0).long()
        self.metainfo = dict(classes=('neg', 'pos'))

    def __len__(self) -> int:
        return len(self.points)

    def __getitem__(self, index: int) -> dict:
        noise = torch.randn(4) * 0.1 + float(np.random.uniform(-0.1, 0.1))
        scale = 1.0 + random.random() * 0.1
        return dict(inputs=self.points[index] * scale + noise, labels=self.labels[index])


class Accuracy(BaseMetric):
    def process(self, data_batch, data_samples):
        pred, labels = data_samples
        self.results.append((int((torch.stack(list(pred)) == torch.stack(list(labels))).sum()),
                             len(labels)))

    def compute_metrics(self, results):
        return dict(acc=sum(r[0] for r in results) / sum(r[1] for r in results))


class Recorder(Hook):
    priority = 'LOWEST'

    def __init__(self, path: str, kill_at: int | None = None, signal_at: int | None = None,
                 signals: tuple = (), faults: dict | None = None) -> None:
        self.path, self.kill_at, self.signal_at, self.signals = path, kill_at, signal_at, signals
        self.faults = faults or {}

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter == self.kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        if runner.iter == self.signal_at:
            for name in self.signals:
                os.kill(os.getpid(), getattr(signal, name))
        faults = self.faults
        if runner.iter == faults.get('hang_at'):
            time.sleep(faults['hang_for'])
        if (runner.rank, runner.iter) == tuple(faults.get('fail', (-1, -1))):
            raise RuntimeError(f'injected failure on rank {runner.rank}')
        time.sleep(faults.get('iter_sleep', 0))

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        lr = runner.optim_wrapper.get_lr()['lr'][0]
        with open(self.path, 'a') as f:
            f.write(json.dumps(dict(iter=runner.iter, loss=float(outputs['loss']).hex(),
                                    lr=float(lr).hex())) + '\n')


def _loader(num_workers: int, sampler: str, size: int = 24, batch_size: int = 4) -> dict:
    return dict(dataset=dict(type=AugmentedData, size=size), batch_size=batch_size,
                num_workers=num_workers, persistent_workers=False,
                sampler=dict(type=sampler, shuffle=True), collate_fn=dict(type='default_collate'))


def build_cfg(work_dir: str, by_epoch: bool = True, num_workers: int = 0, amp: bool = False,
              ckpt: dict | None = None, resume: Any = False, kill_at: int | None = None,
              signal_at: int | None = None, signals: tuple = ('SIGTERM',),
              preemption: Any = True, length: int = 18, faults: dict | None = None,
              hang_timeout: float | None = None, launcher: str = 'none',
              deterministic: bool = True) -> dict:
    optimizer = dict(type='SGD', lr=0.1, momentum=0.9) if by_epoch else dict(type='Adam',
                                                                               lr=0.01)
    optim = dict(type='AmpOptimWrapper', dtype='bfloat16', optimizer=optimizer) if amp else \
        dict(optimizer=optimizer)
    if by_epoch:
        train_cfg = dict(by_epoch=True, max_epochs=length // 6, val_interval=1)
        sched = [dict(type='LinearLR', start_factor=0.3, by_epoch=False, begin=0, end=5),
                 dict(type='MultiStepLR', milestones=[2], by_epoch=True)]
    else:
        train_cfg = dict(by_epoch=False, max_iters=length, val_interval=6)
        sched = [dict(type='LinearLR', start_factor=0.3, by_epoch=False, begin=0, end=5)]
    train_cfg.update(preemption=preemption, hang_timeout=hang_timeout)
    recorder = Recorder(os.path.join(work_dir, 'records.jsonl'), kill_at, signal_at,
                        tuple(signals), faults)
    return dict(
        model=dict(type=TinyNet), work_dir=work_dir,
        train_dataloader=_loader(num_workers, 'DefaultSampler' if by_epoch else
                                 'InfiniteSampler'),
        val_dataloader=_loader(num_workers, 'DefaultSampler', size=8),
        train_cfg=train_cfg, val_cfg=dict(), val_evaluator=dict(type=Accuracy),
        optim_wrapper=optim, param_scheduler=sched,
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', **(ckpt or {})),
                           logger=dict(type='LoggerHook', interval=2)),
        custom_hooks=[recorder], log_processor=dict(by_epoch=by_epoch),
        randomness=dict(seed=7, deterministic=deterministic), resume=resume,
        launcher=launcher, env_cfg=dict(dist_cfg=dict(backend='gloo', timeout=30)),
        experiment_name=f'{os.path.basename(work_dir)}_{os.getpid()}')


def train(work_dir: str, **kwargs: Any) -> None:
    """Train (see :func:`build_cfg`), then save the final states to ``final.pt``."""
    torch.set_num_threads(1)
    os.makedirs(work_dir, exist_ok=True)
    runner = Runner.from_cfg(build_cfg(work_dir, **kwargs))
    runner.train()
    if runner.rank == 0:
        torch.save(dict(model=runner.model.state_dict(),
                        optim=runner.optim_wrapper.state_dict()),
                   os.path.join(work_dir, 'final.pt'))


def train_twice(ref_dir: str, work_dir: str, **kwargs: Any) -> None:
    """An uninterrupted reference run, then (in the same process) the first interrupted one."""
    faults = ('kill_at', 'signal_at', 'signals', 'faults')
    train(ref_dir, **{k: v for k, v in kwargs.items() if k not in faults})
    train(work_dir, **kwargs)


if __name__ == '__main__':  # torchrun entry: python -m ... '<json kwargs>'
    import sys
    train(**json.loads(sys.argv[1]))
