"""A small stand-in for the Runner exposing only the public interface hooks rely on."""
from __future__ import annotations

import os
import os.path as osp
from types import SimpleNamespace
from typing import Any

import torch
from torch import nn

from mmengine.logging import MessageHub
from mmengine.runner.log_processor import LogProcessor
from mmengine.visualization import Visualizer


class RecordingLogger:
    """Collects the messages hooks log."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.handlers: list = []  # a logging.Logger's handlers (hooks flush them)

    def info(self, msg: str) -> None:
        self.messages.append(msg)

    warning = info


class FakeOptimWrapper:
    def __init__(self, lr: float = 1e-3) -> None:
        self.lr = lr

    def get_lr(self) -> dict:
        return {'lr': [self.lr]}


class FakeLoop:
    def __init__(self, dataloader: Any, max_epochs: int, max_iters: int) -> None:
        self.dataloader = dataloader
        self.max_epochs = max_epochs
        self.max_iters = max_iters
        self.stop_training = False


class FakeRunner:
    """Epoch/iteration counters are plain attributes the test advances itself."""

    def __init__(self, work_dir: str, *, max_epochs: int = 2, train_len: int = 5,
                 val_len: int = 3, by_epoch: bool = True, max_iters: int | None = None,
                 model: nn.Module | None = None, vis_backends: Any = None,
                 log_processor: LogProcessor | None = None) -> None:
        self.work_dir = str(work_dir)
        self.timestamp = '20240101_000000'
        self.log_dir = osp.join(self.work_dir, self.timestamp)
        os.makedirs(self.log_dir, exist_ok=True)
        self.experiment_name = 'exp'
        self.cfg = None
        self.seed = 0
        self.rank, self.world_size, self.distributed = 0, 1, False
        self.epoch = 0
        self.iter = 0
        self.train_dataloader = list(range(train_len))
        self.val_dataloader = list(range(val_len))
        self.test_dataloader = list(range(val_len))
        self.max_epochs = max_epochs
        self.max_iters = max_iters if max_iters is not None else max_epochs * train_len
        self.train_loop = FakeLoop(self.train_dataloader, self.max_epochs, self.max_iters)
        self.val_loop = self.test_loop = None
        self.model = model if model is not None else nn.Linear(2, 1)
        self.optim_wrapper = FakeOptimWrapper()
        self.param_schedulers: Any = []
        self.message_hub = MessageHub.get_instance('fake-runner')
        self.logger = RecordingLogger()
        self.visualizer = Visualizer.get_instance('fake-runner', vis_backends=vis_backends,
                                                  save_dir=self.log_dir)
        self.log_processor = log_processor or LogProcessor(by_epoch=by_epoch)
        self.saved: list[tuple[str, str, dict]] = []

    def save_checkpoint(self, out_dir: str, filename: str, file_client_args: Any = None,
                        save_optimizer: bool = True, save_param_scheduler: bool = True,
                        meta: dict | None = None, by_epoch: bool = True,
                        backend_args: Any = None) -> None:
        self.saved.append((out_dir, filename, dict(meta or {})))
        os.makedirs(out_dir, exist_ok=True)
        checkpoint = {'meta': dict(meta or {}), 'state_dict': self.model.state_dict(),
                      'message_hub': {'note': 'x'}}
        if save_optimizer:
            checkpoint['optimizer'] = {'lr': 0.1}
        torch.save(checkpoint, osp.join(out_dir, filename))


def namespace(**kwargs: Any) -> SimpleNamespace:
    return SimpleNamespace(**kwargs)
