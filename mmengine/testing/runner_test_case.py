"""``RunnerTestCase``: a unittest base class with a toy model, dataset and metric and ready
configs, for testing hooks, loops and runner extensions against the real Runner."""
from __future__ import annotations

import copy
import logging
import os
import socket
import tempfile
import time
from typing import Any
from unittest import TestCase

import torch
import torch.nn as nn
from torch.utils.data import Dataset

from ..config import Config
from ..dist import is_distributed
from ..evaluator import BaseMetric
from ..logging import MessageHub, MMLogger
from ..model import BaseModel
from ..registry import DATASETS, METRICS, MODELS, DefaultScope
from ..runner import Runner
from ..visualization import Visualizer


class ToyModel(BaseModel):
    """Two linear layers on 2-d inputs; ``loss`` is the summed squared error to the labels."""

    def __init__(self, data_preprocessor: Any = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor)
        self.linear1 = nn.Linear(2, 2)
        self.linear2 = nn.Linear(2, 1)

    def forward(self, inputs: Any, data_samples: Any = None, mode: str = 'tensor') -> Any:
        if isinstance(inputs, list):
            inputs = torch.stack(inputs)
        if isinstance(data_samples, list):
            data_samples = torch.stack(data_samples)
        outputs = self.linear2(self.linear1(inputs))
        if mode == 'tensor':
            return outputs
        if mode == 'loss':
            loss = (data_samples - outputs).sum()
            return dict(loss=loss)
        if mode == 'predict':
            return outputs
        raise ValueError(f"mode must be 'tensor', 'loss' or 'predict', but got {mode!r}.")


class ToyDataset(Dataset):
    """Twelve random 2-d points labelled 1."""

    METAINFO: dict = dict()
    data = torch.randn(12, 2)
    label = torch.ones(12)

    @property
    def metainfo(self) -> dict:
        return self.METAINFO

    def __len__(self) -> int:
        return self.data.size(0)

    def __getitem__(self, index: int) -> dict:
        return dict(inputs=self.data[index], data_samples=self.label[index])


class ToyMetric(BaseMetric):
    """Returns ``dummy_metrics`` (default ``dict(acc=1)``) whatever it processed."""

    def __init__(self, collect_device: str = 'cpu', dummy_metrics: dict | None = None) -> None:
        super().__init__(collect_device=collect_device)
        self.dummy_metrics = dummy_metrics

    def process(self, data_batch: Any, predictions: Any) -> None:
        self.results.append(dict(acc=1))

    def compute_metrics(self, results: list) -> dict:
        return self.dummy_metrics if self.dummy_metrics is not None else dict(acc=1)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _register_toys() -> None:
    MODELS.register_module(module=ToyModel, force=True)
    DATASETS.register_module(module=ToyDataset, force=True)
    METRICS.register_module(module=ToyMetric, force=True)


class RunnerTestCase(TestCase):
    """Base test case providing ``epoch_based_cfg`` and ``iter_based_cfg`` for a toy run.

    ``setUp`` registers the toy classes, creates a temporary work_dir and the configs;
    ``tearDown`` resets global instances (logger, MessageHub, Visualizer, DefaultScope),
    destroys a process group created by the test, and removes the work_dir.
    """

    dist_cfg = dict(backend='gloo')

    def setUp(self) -> None:
        self.temp_dir = tempfile.TemporaryDirectory()
        _register_toys()
        loader = dict(dataset=dict(type='ToyDataset'), batch_size=3, num_workers=0)
        self.epoch_based_cfg = Config(dict(
            model=dict(type='ToyModel'), work_dir=self.temp_dir.name,
            train_dataloader=dict(loader, sampler=dict(type='DefaultSampler', shuffle=True)),
            val_dataloader=dict(loader, sampler=dict(type='DefaultSampler', shuffle=False)),
            test_dataloader=dict(loader, sampler=dict(type='DefaultSampler', shuffle=False)),
            val_evaluator=[dict(type='ToyMetric')], test_evaluator=[dict(type='ToyMetric')],
            optim_wrapper=dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.1)),
            train_cfg=dict(by_epoch=True, max_epochs=2, val_interval=1),
            val_cfg=dict(), test_cfg=dict(),
            default_hooks=dict(logger=dict(type='LoggerHook', interval=1)),
            custom_hooks=[], env_cfg=dict(dist_cfg=dict(self.dist_cfg)),
            experiment_name='test1'))
        self.iter_based_cfg = copy.deepcopy(self.epoch_based_cfg)
        self.iter_based_cfg.train_dataloader = dict(
            loader, sampler=dict(type='InfiniteSampler', shuffle=True))
        self.iter_based_cfg.log_processor = dict(by_epoch=False)
        self.iter_based_cfg.train_cfg = dict(by_epoch=False, max_iters=12)
        self.iter_based_cfg.default_hooks = dict(
            logger=dict(type='LoggerHook', interval=1),
            checkpoint=dict(type='CheckpointHook', interval=12, by_epoch=False))

    def tearDown(self) -> None:
        for manager in (MMLogger, MessageHub, Visualizer, DefaultScope):
            manager._instance_dict.clear()
        for handler in list(logging.getLogger('mmengine').handlers):
            handler.close()
        if is_distributed():
            torch.distributed.destroy_process_group()
        self.temp_dir.cleanup()

    def build_runner(self, cfg: Config) -> Runner:
        """Build a runner from ``cfg`` with a unique experiment name."""
        cfg = copy.deepcopy(cfg)
        cfg.experiment_name = self.experiment_name
        return Runner.from_cfg(cfg)

    @property
    def experiment_name(self) -> str:
        """A name unique to this test method and moment."""
        return f'{self._testMethodName}_{time.time_ns()}'

    def setup_dist_env(self) -> None:
        """Set the environment of a one-process torchrun job on a free local port."""
        os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(_free_port()), RANK='0',
                          LOCAL_RANK='0', WORLD_SIZE='1', LOCAL_WORLD_SIZE='1')

    def clear_work_dir(self) -> None:
        """Remove everything in the work_dir."""
        import shutil
        for name in os.listdir(self.temp_dir.name):
            path = os.path.join(self.temp_dir.name, name)
            shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
