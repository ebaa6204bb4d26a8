"""RuntimeInfoHook, IterTimerHook, LoggerHook, ParamSchedulerHook and small hooks."""
from __future__ import annotations

import json
import os.path as osp
from types import SimpleNamespace

import pytest
import torch

from mmengine.hooks import (
    DistSamplerSeedHook,
    EmptyCacheHook,
    IterTimerHook,
    LoggerHook,
    ParamSchedulerHook,
    RuntimeInfoHook,
    SyncBuffersHook,
)

from .fake_runner import FakeRunner


def _train(runner, hooks, epochs, losses):
    """Drive the hooks like an epoch-based train loop; losses: one tensor per iteration."""
    losses = iter(losses)
    for hook in hooks:
        hook.before_run(runner)
        hook.before_train(runner)
    for epoch in range(epochs):
        runner.epoch = epoch
        for hook in hooks:
            hook.before_train_epoch(runner)
        for idx, batch in enumerate(runner.train_dataloader):
            for hook in hooks:
                hook.before_train_iter(runner, idx, batch)
            outputs = {'loss': next(losses)}
            for hook in hooks:
                hook.after_train_iter(runner, idx, batch, outputs)
            runner.iter += 1
        for hook in hooks:
            hook.after_train_epoch(runner)
    runner.epoch = epochs


def test_runtime_info_hook_keeps_tensors(tmp_path):
    runner = FakeRunner(tmp_path, max_epochs=1, train_len=3)
    hook = RuntimeInfoHook()
    losses = [torch.tensor(float(i)) for i in range(3)]
    _train(runner, [hook], 1, losses)
    hub = runner.message_hub
    assert hub.get_info('max_epochs') == 1 and hub.get_info('max_iters') == 3
    assert hub.get_info('iter') == 2 and hub.get_info('epoch') == 0
    assert hub.get_info('experiment_name') == 'exp'
    assert hub.get_scalar('train/lr').current() == pytest.approx(1e-3)
    assert hub.get_scalar('train/loss').mean() == pytest.approx(1.0)
    hook.before_val(runner)
    assert hub.get_info('loop_stage') == 'val'
    hook.after_val_epoch(runner, {'acc': 0.5, 'per_class': [1, 2]})
    hook.after_val(runner)
    assert hub.get_info('loop_stage') == 'train'
    assert hub.get_scalar('val/acc').current() == 0.5
    assert hub.get_info('val/per_class') == [1, 2]


def test_runtime_info_hook_checks_every_model_output(tmp_path):
    runner = FakeRunner(tmp_path, max_epochs=1, train_len=2)
    hook = RuntimeInfoHook()
    _train(runner, [hook], 1, [torch.tensor(1.0), torch.tensor(3.0)])
    hub = runner.message_hub
    with pytest.raises(ValueError, match="'train/loss' must hold exactly one element"):
        hook.after_train_iter(runner, 0, None, {'loss': torch.ones(2)})
    with pytest.raises(TypeError, match="'train/loss' must be a number"):
        hook.after_train_iter(runner, 0, None, {'loss': 'nan'})
    hub.update_scalar('train/acc', 0.5, resumed=False)
    with pytest.raises(ValueError, match='registered with resumed=False'):
        hook.after_train_iter(runner, 0, None, {'acc': torch.tensor(0.7)})
    assert hub.get_scalar('train/loss').mean() == pytest.approx(2.0)  # nothing stored


def test_iter_timer_records_times_and_eta(tmp_path):
    runner = FakeRunner(tmp_path, max_epochs=2, train_len=4)
    _train(runner, [IterTimerHook()], 1, [torch.tensor(0.)] * 4)
    hub = runner.message_hub
    assert len(hub.get_scalar('train/time')) == 4
    assert len(hub.get_scalar('train/data_time')) == 4
    assert isinstance(hub.get_scalar('train/time').current(), float)
    assert hub.get_info('eta') > 0  # 4 of 8 iterations left
    hook = IterTimerHook()
    hook.before_val_epoch(runner)
    for idx in range(3):
        hook.before_val_iter(runner, idx)
        hook.after_val_iter(runner, idx)
    assert hub.get_info('eta') == 0  # last val iteration
    assert len(hub.get_scalar('val/time')) == 3


def _run_logged(tmp_path, by_epoch=True, interval=2):
    from mmengine.runner.log_processor import LogProcessor
    runner = FakeRunner(tmp_path / 'work', max_epochs=2, train_len=5,
                        vis_backends=[dict(type='LocalVisBackend')],
                        log_processor=LogProcessor(by_epoch=by_epoch))
    hooks = [RuntimeInfoHook(), IterTimerHook(), LoggerHook(interval=interval)]
    _train(runner, hooks, 2, [torch.tensor(float(i)) for i in range(10)])
    return runner, hooks


@pytest.mark.skipif(torch.cuda.is_available(), reason='memory column on CUDA')
def test_logger_hook_lines_and_scalars(tmp_path):
    runner, hooks = _run_logged(tmp_path)
    lines = [m for m in runner.logger.messages if m.startswith('Epoch(train)')]
    # ignore_last=True: batch 5 of 5 does not fill an interval of 2.
    assert [line.split('  ')[0] for line in lines] == [
        'Epoch(train) [1][2/5]', 'Epoch(train) [1][4/5]', 'Epoch(train) [2][2/5]',
        'Epoch(train) [2][4/5]']
    assert lines[0].endswith('loss: 0.5000')
    assert 'Exp name: exp' in runner.logger.messages
    scalars = osp.join(runner.log_dir, 'vis_data', 'scalars.json')
    with open(scalars) as f:
        records = [json.loads(line) for line in f]
    assert [r['step'] for r in records] == [2, 4, 7, 9]
    assert [r['iter'] for r in records] == [2, 4, 7, 9]
    assert [r['epoch'] for r in records] == [1, 1, 2, 2]
    assert records[0]['loss'] == pytest.approx(0.5)
    assert set(records[0]) >= {'lr', 'time', 'data_time', 'loss'}
    per_run = osp.join(runner.log_dir, 'vis_data', f'{runner.timestamp}.json')
    assert osp.isfile(per_run)

    # Validation metrics are written at the epoch for epoch-based runs.
    hook = hooks[2]
    runner.message_hub.update_scalar('val/accuracy', 35.7)
    hook.after_val_epoch(runner, {'accuracy': 35.7})
    assert runner.logger.messages[-1] == 'Epoch(val) [2][3/3]  accuracy: 35.7000'
    with open(scalars) as f:
        last = json.loads(f.readlines()[-1])
    assert last['accuracy'] == pytest.approx(35.7) and last['step'] == 2


def test_logger_hook_iter_based_metric_step(tmp_path):
    runner, hooks = _run_logged(tmp_path, by_epoch=False, interval=3)
    lines = [m for m in runner.logger.messages if m.startswith('Iter(train)')]
    assert [line.split('  ')[0] for line in lines] == [
        'Iter(train) [3/10]', 'Iter(train) [6/10]', 'Iter(train) [9/10]']
    runner.message_hub.update_scalar('val/accuracy', 1.0)
    hooks[2].after_val_epoch(runner, {'accuracy': 1.0})
    with open(osp.join(runner.log_dir, 'vis_data', 'scalars.json')) as f:
        assert json.loads(f.readlines()[-1])['step'] == runner.iter == 10


def test_logger_hook_copies_logs_to_out_dir(tmp_path):
    runner = FakeRunner(tmp_path / 'work')
    with open(osp.join(runner.log_dir, 'run.log'), 'w') as f:
        f.write('hello')
    hook = LoggerHook(out_dir=str(tmp_path / 'out'), keep_local=False)
    hook.before_run(runner)
    hook.after_run(runner)
    with open(tmp_path / 'out' / 'work' / 'run.log') as f:
        assert f.read() == 'hello'
    assert not osp.exists(osp.join(runner.log_dir, 'run.log'))


def test_logger_hook_argument_errors():
    with pytest.raises(ValueError, match='interval'):
        LoggerHook(interval=0)
    with pytest.raises(ValueError, match='out_dir'):
        LoggerHook(keep_local=False)
    with pytest.raises(ValueError, match='backend_args'):
        LoggerHook(file_client_args={}, backend_args={})


class _Sched:
    def __init__(self, by_epoch, need_val_args=False):
        self.by_epoch = by_epoch
        self.need_val_args = need_val_args
        self.steps = []

    def step(self, *args):
        self.steps.append(args)


def test_param_scheduler_hook_steps(tmp_path):
    runner = FakeRunner(tmp_path, max_epochs=2, train_len=3)
    by_iter, by_epoch, plateau = _Sched(False), _Sched(True), _Sched(True, need_val_args=True)
    runner.param_schedulers = [by_iter, by_epoch, plateau]
    hook = ParamSchedulerHook()
    _train(runner, [hook], 2, [torch.tensor(0.)] * 6)
    hook.after_val_epoch(runner, {'loss': 0.3})
    assert len(by_iter.steps) == 6 and len(by_epoch.steps) == 2
    # a metric-driven scheduler counts its window on plain steps (one per epoch here) and
    # judges the metric after validation
    assert plateau.steps == [(), (), ({'loss': 0.3}, )]
    runner.param_schedulers = {'gen': [by_iter], 'disc': [by_epoch]}
    hook.after_train_iter(runner, 0)
    assert len(by_iter.steps) == 7 and len(by_epoch.steps) == 2
    runner.param_schedulers = 'bad'
    with pytest.raises(TypeError, match='param_schedulers'):
        hook.after_train_epoch(runner)


def test_dist_sampler_seed_hook(tmp_path):
    runner = FakeRunner(tmp_path)
    seen = []
    sampler = SimpleNamespace(set_epoch=seen.append)
    runner.train_loop.dataloader = SimpleNamespace(sampler=None,
                                                   batch_sampler=SimpleNamespace(sampler=sampler))
    runner.epoch = 3
    DistSamplerSeedHook().before_train_epoch(runner)
    assert seen == [3]


def test_empty_cache_and_sync_buffers_without_cuda_or_dist(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    monkeypatch.setattr(torch.cuda, 'empty_cache', lambda: calls.append(1))
    hook = EmptyCacheHook(before_epoch=True, after_epoch=False, after_iter=True)
    hook.before_train_epoch(None)
    hook.after_train_epoch(None)
    hook.after_val_iter(None, 0)
    assert len(calls) == 2
    runner = FakeRunner(tmp_path, model=torch.nn.BatchNorm1d(2))
    before = runner.model.running_mean.clone()
    SyncBuffersHook().after_train_epoch(runner)  # single process: unchanged
    assert torch.equal(runner.model.running_mean, before)


def _check_sync_buffers(rank, world_size):
    import tempfile
    runner = FakeRunner(tempfile.mkdtemp(), model=torch.nn.BatchNorm1d(2))
    runner.model.running_mean.fill_(float(rank))
    SyncBuffersHook().after_train_epoch(runner)
    assert torch.allclose(runner.model.running_mean, torch.full((2, ), 0.5))


@pytest.mark.dist
def test_sync_buffers_across_ranks():
    from tests._helpers.dist import run_on_ranks
    run_on_ranks(_check_sync_buffers, world_size=2)

