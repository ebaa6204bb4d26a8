"""Runner construction: both styles, lazy building, validation of inputs, errors."""
from __future__ import annotations

import copy
import os.path as osp

import pytest
import torch
from torch.utils.data import DataLoader

from mmengine.config import Config
from mmengine.evaluator import Evaluator
from mmengine.optim import OptimWrapper
from mmengine.runner import Runner
from mmengine.testing.runner_test_case import ToyDataset, ToyMetric, ToyModel


def test_lazy_building(case):
    runner = case.build_runner(case.epoch_based_cfg)
    assert isinstance(runner._train_dataloader, dict)
    assert isinstance(runner.optim_wrapper, dict)
    assert isinstance(runner._val_loop, dict)
    runner.train()
    assert isinstance(runner.train_dataloader, DataLoader)
    assert isinstance(runner.optim_wrapper, OptimWrapper)
    assert isinstance(runner.val_evaluator, Evaluator)


def test_objects_style(case, tmp_path):
    model = ToyModel()
    runner = Runner(
        model=model, work_dir=str(tmp_path),
        train_dataloader=DataLoader(ToyDataset(), batch_size=3, shuffle=True),
        train_cfg=dict(by_epoch=True, max_epochs=1),
        optim_wrapper=OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01)),
        val_dataloader=DataLoader(ToyDataset(), batch_size=3),
        val_cfg=dict(), val_evaluator=ToyMetric(), experiment_name='objects',
        default_hooks=dict(checkpoint=None))
    assert runner.train() is runner.model
    assert runner.iter == 4


def test_config_is_not_mutated(case):
    cfg = copy.deepcopy(case.epoch_based_cfg)
    before = copy.deepcopy(cfg.to_dict())
    case.build_runner(cfg).train()
    after = cfg.to_dict()
    after.pop('experiment_name'), before.pop('experiment_name')
    assert after == before


def test_incomplete_trios_are_rejected(case, tmp_path):
    with pytest.raises(ValueError, match='optim_wrapper is missing'):
        Runner(model=ToyModel(), work_dir=str(tmp_path),
               train_dataloader=DataLoader(ToyDataset()), train_cfg=dict(max_epochs=1))
    with pytest.raises(ValueError, match='val_evaluator'):
        Runner(model=ToyModel(), work_dir=str(tmp_path),
               val_dataloader=DataLoader(ToyDataset()), val_cfg=dict())


def test_val_without_loader_is_runtime_error(case, tmp_path):
    runner = Runner(model=ToyModel(), work_dir=str(tmp_path))
    with pytest.raises(RuntimeError, match='val_dataloader, val_cfg and val_evaluator'):
        runner.val()
    with pytest.raises(RuntimeError, match='train_dataloader, train_cfg and optim_wrapper'):
        runner.train()


def test_dataloader_config_errors(case):
    cfg = dict(dataset=dict(type='ToyDataset'), batch_size=2)
    with pytest.raises(ValueError, match='needs a `sampler`'):
        Runner.build_dataloader(cfg)
    cfg['sampler'] = dict(type='DefaultSampler')
    cfg['shuffle'] = True
    with pytest.raises(ValueError, match='`shuffle` cannot be combined'):
        Runner.build_dataloader(cfg)
    loader = Runner.build_dataloader(dict(dataset=dict(type='ToyDataset'), batch_size=2,
                                          sampler=dict(type='DefaultSampler', shuffle=False)),
                                     seed=1)
    assert len(loader) == 6


def test_work_dir_log_dir_and_config_dump(case):
    cfg = copy.deepcopy(case.epoch_based_cfg)
    runner = case.build_runner(cfg)
    runner.train()
    assert osp.isdir(runner.log_dir) and osp.dirname(runner.log_dir) == runner.work_dir
    assert osp.isfile(osp.join(runner.log_dir, f'{runner.timestamp}.log'))
    assert osp.isfile(osp.join(runner.log_dir, 'vis_data', 'scalars.json'))
    dumped = osp.join(runner.log_dir, f'{runner.timestamp}.py')
    assert osp.isfile(dumped)
    assert Config.fromfile(dumped).train_cfg.max_epochs == 2


def test_auto_scale_lr(case):
    cfg = copy.deepcopy(case.epoch_based_cfg)
    cfg.auto_scale_lr = dict(base_batch_size=6, enable=True)
    runner = case.build_runner(cfg)
    runner._prepare_training()
    assert runner.optim_wrapper.param_groups[0]['lr'] == pytest.approx(0.1 * 3 / 6)


def test_randomness_seed_is_recorded(case):
    cfg = copy.deepcopy(case.epoch_based_cfg)
    cfg.randomness = dict(seed=123)
    runner = case.build_runner(cfg)
    assert runner.seed == 123
    cfg.randomness = dict(seed=None)
    assert isinstance(case.build_runner(cfg).seed, int)
    cfg.randomness = dict(sed=1)
    with pytest.raises(ValueError, match='Unknown randomness keys'):
        case.build_runner(cfg)


def test_compile_option_compiles_forward(case):
    cfg = copy.deepcopy(case.epoch_based_cfg)
    cfg.compile = dict(backend='eager')  # the eager backend keeps the test fast on CPU
    cfg.train_cfg = dict(by_epoch=True, max_epochs=1)
    runner = case.build_runner(cfg)
    runner.train()
    assert 'forward' in vars(runner.model)  # the compiled function shadows the method
    assert runner.iter == 4
    cfg.compile = 'yes'
    runner = case.build_runner(cfg)
    with pytest.raises(TypeError, match='compile must be True or a dict'):
        runner.train()
