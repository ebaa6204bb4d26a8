"""When train()/val()/test() return, the log file holds every line of the run."""
from __future__ import annotations

import copy
import glob
import os.path as osp

import pytest

import mmengine.logging.logger as logger_module


@pytest.mark.parametrize('mode', ['train', 'val', 'test'])
def test_log_file_is_complete_when_the_call_returns(case, monkeypatch, mode):
    monkeypatch.setattr(logger_module, 'FLUSH_INTERVAL', 3600.0)  # nothing flushes by time
    cfg = copy.deepcopy(case.epoch_based_cfg)
    cfg.default_hooks = dict(logger=dict(type='LoggerHook', interval=1))
    runner = case.build_runner(cfg)
    getattr(runner, mode)()
    log_file, = glob.glob(osp.join(runner.log_dir, '*.log'))
    with open(log_file, encoding='utf-8') as f:
        on_return = f.read()
    for handler in runner.logger.handlers:
        handler.flush()
    with open(log_file, encoding='utf-8') as f:
        assert f.read() == on_return  # nothing was still pending
    label = 'Epoch(train)' if mode == 'train' else f'Epoch({mode})'
    assert label in on_return


def test_train_flushes_even_when_it_raises(case, monkeypatch):
    monkeypatch.setattr(logger_module, 'FLUSH_INTERVAL', 3600.0)
    cfg = copy.deepcopy(case.epoch_based_cfg)
    cfg.default_hooks = dict(logger=dict(type='LoggerHook', interval=1))
    runner = case.build_runner(cfg)

    def fail(*args, **kwargs):
        raise RuntimeError('boom')

    runner.train_loop.run_epoch = fail
    with pytest.raises(RuntimeError, match='boom'):
        runner.train()
    log_file, = glob.glob(osp.join(runner.log_dir, '*.log'))
    with open(log_file, encoding='utf-8') as f:
        assert 'Hooks will be executed' in f.read()
