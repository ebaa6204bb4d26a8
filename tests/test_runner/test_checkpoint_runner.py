"""Checkpoints through the real Runner: config changes on resume, save errors, best-checkpoint
and EMA bookkeeping across resume, early stopping, profiling, and checkpoint size."""
from __future__ import annotations

import glob
import io
import os
import os.path as osp

import pytest
import torch
from torch.utils.data import DataLoader

from mmengine.hooks import Hook
from mmengine.runner import Runner
from mmengine.runner.checkpoint import read_manifest
from tests._helpers.toy import RingsAccuracy, RingsDataset, RingsModel


def _runner(work_dir, max_epochs=2, batch_size=16, resume=False, ckpt=None, hooks=None,
            schedulers=None, val=False, name='ck'):
    val_kw = {}
    if val:
        val_kw = dict(val_dataloader=DataLoader(RingsDataset(False, 32), batch_size=16),
                      val_cfg=dict(), val_evaluator=dict(type=RingsAccuracy))
    return Runner(
        model=RingsModel(), work_dir=str(work_dir),
        train_dataloader=dict(dataset=RingsDataset(True, 64), batch_size=batch_size,
                              sampler=dict(type='DefaultSampler', shuffle=True),
                              collate_fn=dict(type='default_collate')),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9)),
        param_scheduler=schedulers,
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1, **(ckpt or {})),
                           logger=dict(type='LoggerHook', interval=100)),
        custom_hooks=hooks or [], resume=resume, randomness=dict(seed=1),
        experiment_name=f'{name}_{osp.basename(str(work_dir))}_{int(resume)}', **val_kw)


class Probe(Hook):
    """Records the resumed position, scheduler progress and lr when training starts."""

    def before_train(self, runner):
        self.state = (runner.epoch, runner.iter, runner.param_schedulers[0].last_step)
        self.lr = runner.optim_wrapper.get_lr()['lr'][0]


def test_resume_with_changed_config_warns_and_new_config_wins(tmp_path):
    first = _runner(tmp_path, max_epochs=2,
                    schedulers=[dict(type='MultiStepLR', milestones=[1], gamma=0.5)])
    first.train()
    runner = _runner(tmp_path, max_epochs=4, batch_size=32, resume=True,
                     schedulers=[dict(type='MultiStepLR', milestones=[3], gamma=0.1)])
    probe = Probe()
    runner.register_hook(probe)
    with pytest.warns(UserWarning, match='config differs') as record:
        runner.train()
    text = '\n'.join(str(w.message) for w in record)
    for change in ('max_epochs: 2 -> 4', 'batch_size: 16 -> 32', 'gamma: 0.5 -> 0.1',
                   'milestones'):
        assert change in text
    scheduler = runner.param_schedulers[0]
    assert scheduler.gamma == 0.1 and dict(scheduler.milestones) == {3: 1}  # new config
    assert probe.state == (2, 8, first.param_schedulers[0].last_step)  # restored progress
    assert probe.lr == pytest.approx(0.05)  # the restored lr
    assert runner.epoch == 4 and runner.iter == 12


def _block_out_dir(tmp_path):
    blocker = tmp_path / 'blocked'
    blocker.write_text('a file where the checkpoint directory should be')
    return str(blocker / 'sub')


def test_save_error_raises_by_default_with_path(tmp_path):
    runner = _runner(tmp_path / 'run', ckpt=dict(out_dir=_block_out_dir(tmp_path)))
    with pytest.raises(OSError, match='Could not write .*blocked.*epoch_1.pth'):
        runner.train()
    assert not osp.exists(tmp_path / 'run' / 'last_checkpoint')


def test_save_error_continue_keeps_training(tmp_path):
    work_dir = tmp_path / 'run'
    runner = _runner(work_dir, ckpt=dict(out_dir=_block_out_dir(tmp_path),
                                         on_save_error='continue'))
    runner.train()
    assert runner.epoch == 2
    assert not osp.exists(work_dir / 'last_checkpoint')
    assert runner.message_hub.get_info('last_ckpt') is None
    with pytest.raises(ValueError, match='on_save_error'):
        _runner(tmp_path / 'x', ckpt=dict(on_save_error='ignore'))


class ScriptedAccuracy(Hook):
    """Replaces the validation metric with scripted values, one per validation."""
    priority = 'HIGHEST'

    def __init__(self, scores):
        self.scores = list(scores)

    def after_val_epoch(self, runner, metrics=None):
        metrics['accuracy'] = self.scores.pop(0)


def test_save_best_bookkeeping_across_resume(tmp_path):
    first = _runner(tmp_path, max_epochs=2, val=True, ckpt=dict(save_best='accuracy'),
                    hooks=[ScriptedAccuracy([50.0, 70.0])])
    first.train()
    assert [osp.basename(p) for p in glob.glob(str(tmp_path / 'best_*'))] == [
        'best_accuracy_epoch_2.pth']
    resumed = _runner(tmp_path, max_epochs=4, val=True, resume=True,
                      ckpt=dict(save_best='accuracy'), hooks=[ScriptedAccuracy([60.0, 80.0])])
    resumed.train()
    # 60 < 70 (restored best score) saved nothing; 80 replaced the epoch-2 best file.
    assert [osp.basename(p) for p in glob.glob(str(tmp_path / 'best_*'))] == [
        'best_accuracy_epoch_4.pth']
    assert resumed.message_hub.get_info('best_score') == 80.0
    kinds = {osp.basename(r['path']): r['kind'] for r in read_manifest(str(tmp_path))}
    assert kinds['best_accuracy_epoch_4.pth'] == 'best'
    assert 'best_accuracy_epoch_2.pth' not in kinds
    assert sum(kind == 'regular' for kind in kinds.values()) == 4


class SwapCheck(Hook):
    """Checks that validation runs on the averaged weights and training resumes on its own."""
    priority = 'HIGHEST'  # snapshots before EMAHook swaps

    def __init__(self):
        self.checked = 0

    def before_val_epoch(self, runner):
        ema = next(h for h in runner.hooks if type(h).__name__ == 'EMAHook')
        self.averaged = {k: v.clone() for k, v in ema.ema_model.module.state_dict().items()}
        self.training = {k: v.clone() for k, v in runner.model.state_dict().items()}

    def before_val_iter(self, runner, batch_idx, data_batch=None):
        for key, value in runner.model.state_dict().items():
            assert torch.equal(value, self.averaged[key]), key

    def after_val(self, runner):
        for key, value in runner.model.state_dict().items():
            assert torch.equal(value, self.training[key]), key
        self.checked += 1


def test_ema_through_runner_swaps_saves_and_resumes(tmp_path):
    ema = dict(type='EMAHook', momentum=0.2)
    full_check = SwapCheck()
    full = _runner(tmp_path / 'full', max_epochs=2, val=True, hooks=[ema, full_check])
    full.train()
    assert full_check.checked == 2
    checkpoint = torch.load(tmp_path / 'full' / 'epoch_1.pth', weights_only=True)
    assert 'ema_state_dict' in checkpoint
    ema_hook = next(h for h in full.hooks if type(h).__name__ == 'EMAHook')
    averaged = ema_hook.ema_model.module.state_dict()
    trained = full.model.state_dict()
    assert not torch.equal(averaged['classifier.weight'], trained['classifier.weight'])

    part = tmp_path / 'part'
    os.makedirs(part)
    os.link(tmp_path / 'full' / 'epoch_1.pth', part / 'epoch_1.pth')
    resumed = _runner(part, max_epochs=2, val=True, resume=True, hooks=[ema, SwapCheck()])
    resumed.train()
    resumed_ema = next(h for h in resumed.hooks if type(h).__name__ == 'EMAHook')
    for key, value in resumed_ema.ema_model.module.state_dict().items():
        assert torch.allclose(value, averaged[key], atol=1e-6), key
    for key, value in resumed.model.state_dict().items():
        assert torch.allclose(value, trained[key], atol=1e-6), key


def test_early_stopping_and_profiler_through_runner(tmp_path):
    hooks = [ScriptedAccuracy([50.0, 40.0, 40.0, 40.0, 40.0]),
             dict(type='EarlyStoppingHook', monitor='accuracy', patience=1, min_delta=0.0),
             dict(type='ProfilerHook', by_epoch=False, profile_times=2,
                  json_trace_path=str(tmp_path / 'trace.json'))]
    runner = _runner(tmp_path / 'run', max_epochs=5, val=True, hooks=hooks)
    runner.train()
    assert runner.epoch == 2  # stopped after one epoch without improvement
    assert osp.getsize(tmp_path / 'trace.json') > 0


def _sizes(path):
    checkpoint = torch.load(path, weights_only=True)
    sizes = {}
    for key, value in checkpoint.items():
        buffer = io.BytesIO()
        torch.save(value, buffer)
        sizes[key] = len(buffer.getvalue())
    return sizes


@pytest.fixture(scope='module')
def long_run(tmp_path_factory):
    work_dir = tmp_path_factory.mktemp('long')
    runner = _runner(work_dir, max_epochs=8, batch_size=4, val=True,
                     ckpt=dict(save_best='accuracy', published_keys=['meta', 'state_dict']))
    runner.train()
    return work_dir


def test_everything_the_runner_writes_loads_weights_only(long_run):
    files = glob.glob(str(long_run / '*.pth'))
    assert len(files) >= 10  # 8 regular, best, published copies
    for path in files:
        torch.load(path, weights_only=True)


def test_checkpoint_state_besides_logs_does_not_grow(long_run):
    first, last = _sizes(long_run / 'epoch_1.pth'), _sizes(long_run / 'epoch_8.pth')
    for key in first:
        if key != 'message_hub':
            assert abs(last[key] - first[key]) <= 64, (key, first[key], last[key])


def test_checkpoint_size_does_not_grow(long_run):
    first, last = (osp.getsize(long_run / f'epoch_{n}.pth') for n in (1, 8))
    assert abs(last - first) < 0.02 * first, (first, last)
