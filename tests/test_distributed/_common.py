"""Helpers shared by the distributed tests and the torchrun job they launch.

Nothing here imports ``examples/rings/rings_components`` (it registers ``Accuracy``, which
other test modules register too), so the pytest process can import this module freely.
"""
from __future__ import annotations

import contextlib
import os
import os.path as osp
import socket
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as torch_dist
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

from mmengine.dataset import DefaultSampler, default_collate
from mmengine.evaluator import BaseMetric, Evaluator
from mmengine.hooks import Hook
from mmengine.model import BaseModel

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
RINGS_DIR = osp.join(REPO, 'examples', 'rings')


def free_port() -> int:
    """A TCP port free right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def one_rank_group(tmpdir: str, backend: str = 'gloo') -> Iterator[None]:
    """A one-process group in this process (file rendezvous), destroyed afterwards."""
    saved = dict(os.environ)
    os.environ.update(RANK='0', LOCAL_RANK='0', WORLD_SIZE='1', LOCAL_WORLD_SIZE='1')
    torch_dist.init_process_group(backend, init_method=f'file://{tmpdir}/rendezvous', rank=0,
                                  world_size=1, timeout=timedelta(seconds=60))
    try:
        yield
    finally:
        torch_dist.destroy_process_group()
        os.environ.clear()
        os.environ.update(saved)


class TensorPairs(Dataset):
    """``(data[i], labels[i])`` pairs from saved tensors (the rings data, without its class)."""

    def __init__(self, data: torch.Tensor, labels: torch.Tensor) -> None:
        self.data, self.labels = data, labels

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.data[index], self.labels[index]

    def __len__(self) -> int:
        return len(self.labels)


class PerSampleAccuracy(BaseMetric):
    """One result per sample, so duplicated padding samples would be counted."""

    def process(self, data_batch: Any, data_samples: Any) -> None:
        scores, labels = data_samples
        for pred, label in zip(scores.argmax(dim=1).tolist(), labels.tolist()):
            self.results.append((pred, label))

    def compute_metrics(self, results: list) -> dict:
        return dict(count=len(results), correct=sum(p == t for p, t in results))


def evaluate_per_sample(model: nn.Module, dataset: Dataset, batch_size: int) -> dict:
    """The validation loop by hand: sharded sampler, ``val_step``, gather, compute once."""
    loader = DataLoader(dataset, batch_size=batch_size, collate_fn=default_collate,
                        sampler=DefaultSampler(dataset, shuffle=False))
    evaluator = Evaluator(PerSampleAccuracy())
    model.eval()
    with torch.no_grad():
        for batch in loader:
            evaluator.process(model.val_step(batch), batch)
    return evaluator.evaluate(len(dataset))


class BNModel(BaseModel):
    """The rings classifier with a BatchNorm layer (for SyncBN and buffer syncing)."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(2, 8)
        self.bn = nn.BatchNorm1d(8)
        self.head = nn.Linear(8, 2)

    def forward(self, data: torch.Tensor, labels: torch.Tensor, mode: str = 'tensor') -> Any:
        logits = self.head(F.relu(self.bn(self.fc(data))))
        if mode == 'loss':
            return {'loss': F.cross_entropy(logits, labels)}
        if mode == 'predict':
            return F.softmax(logits, dim=1), labels
        return logits


def full_state(model: nn.Module, optim_wrapper: Any) -> dict:
    """Full (unsharded) model and optimizer state on rank 0 (empty dicts elsewhere)."""
    from torch.distributed.checkpoint.state_dict import (
        StateDictOptions,
        get_model_state_dict,
        get_optimizer_state_dict,
    )
    options = StateDictOptions(full_state_dict=True, cpu_offload=True)
    state = dict(model=get_model_state_dict(model, options=options), optim={})
    # An optimizer that never stepped is left alone: reading its state would initialise it
    # with a zero step, which changes Adam's next update.
    if optim_wrapper.optimizer.state:
        state['optim'] = get_optimizer_state_dict(model, optim_wrapper.optimizer,
                                                  options=options)
    return state


class CaptureHook(Hook):
    """Records the full state right before training (after resuming) and at its end."""

    def __init__(self, path: str | None = None) -> None:
        self.states: dict[str, dict] = {}
        self.path = path

    def before_train(self, runner: Any) -> None:
        self.states['before_train'] = full_state(runner.model, runner.optim_wrapper)
        self.states['before_train']['epoch'] = runner.epoch

    def after_train(self, runner: Any) -> None:
        self.states['after_train'] = full_state(runner.model, runner.optim_wrapper)
        if self.path is not None and runner.rank == 0:
            torch.save(self.states, self.path)


def assert_states_close(actual: Any, expected: Any, atol: float = 1e-6, where: str = '') -> None:
    """Nested dicts/lists of tensors and numbers are equal (tensors within ``atol``)."""
    if isinstance(expected, dict):
        assert set(actual) == set(expected), (where, sorted(actual), sorted(expected))
        for key in expected:
            assert_states_close(actual[key], expected[key], atol, f'{where}.{key}')
    elif isinstance(expected, (list, tuple)):
        assert len(actual) == len(expected), where
        for i, (a, e) in enumerate(zip(actual, expected)):
            assert_states_close(a, e, atol, f'{where}[{i}]')
    elif isinstance(expected, torch.Tensor):
        assert torch.allclose(actual.float(), expected.float(), atol=atol), (
            where, (actual.float() - expected.float()).abs().max())
    else:
        assert actual == expected, (where, actual, expected)
