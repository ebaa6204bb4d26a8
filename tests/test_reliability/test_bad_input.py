"""Bad input and non-finite losses: errors that name the culprit, say what was expected and
stop before anything is half-written."""
from __future__ import annotations

import glob
import math
import os.path as osp

import pytest
import torch
import torch.nn as nn
from torch.utils.data import Dataset

from mmengine.evaluator import BaseMetric
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner

pytestmark = pytest.mark.reliability


class Points(Dataset):
    def __init__(self, size: int = 8) -> None:
        self.x = torch.linspace(-1, 1, size * 2).reshape(size, 2)

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, index):
        return dict(inputs=self.x[index], target=self.x[index].sum(0, keepdim=True))


class Regressor(BaseModel):
    """``nan_at``: iterations (0-based calls of forward in loss mode) whose loss is NaN."""

    def __init__(self, nan_at: tuple = (), wrong_loss: bool = False) -> None:
        super().__init__()
        self.linear = nn.Linear(2, 1)
        self.nan_at, self.wrong_loss, self.calls = set(nan_at), wrong_loss, 0

    def forward(self, inputs, target, mode='tensor'):
        out = self.linear(inputs)
        if mode == 'loss':
            loss = ((out - target) ** 2).mean()
            if self.calls in self.nan_at:
                loss = loss * float('nan')
            self.calls += 1
            return loss if self.wrong_loss else dict(loss=loss)
        return out, target


class NotADict(BaseMetric):
    def process(self, data_batch, data_samples):
        self.results.append(1)

    def compute_metrics(self, results):
        return 0.5


def _loader(size: int = 8, batch_size: int = 2, drop_last: bool = False) -> dict:
    return dict(dataset=dict(type=Points, size=size), batch_size=batch_size,
                drop_last=drop_last, sampler=dict(type='DefaultSampler', shuffle=False),
                collate_fn=dict(type='default_collate'))


def _runner(tmp_path, model=None, train_cfg=None, loader=None, val=False, hooks=(),
            metric=None, interval: int = 5) -> Runner:
    extra = {}
    if val:
        extra = dict(val_dataloader=_loader(), val_cfg=dict(),
                     val_evaluator=metric or dict(type=NotADict))
    return Runner(model=model or Regressor(), work_dir=str(tmp_path / 'work'),
                  train_dataloader=loader or _loader(),
                  train_cfg=train_cfg or dict(by_epoch=True, max_epochs=2),
                  optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
                  default_hooks=dict(logger=dict(type='LoggerHook', interval=interval),
                                     checkpoint=None),
                  custom_hooks=list(hooks), experiment_name=str(id(tmp_path)), **extra)


def _log_text(tmp_path) -> str:
    return '\n'.join(open(p).read() for p in glob.glob(str(tmp_path / 'work' / '*' / '*.log')))


def test_forward_returning_the_wrong_thing_names_the_model_and_mode(tmp_path):
    runner = _runner(tmp_path, model=Regressor(wrong_loss=True))
    with pytest.raises(TypeError, match=r"forward\(mode='loss'\) must return a dict.*Regressor"):
        runner.train()


def test_metric_returning_non_dict_names_the_metric(tmp_path):
    runner = _runner(tmp_path, val=True)
    with pytest.raises(TypeError, match=r'NotADict\.compute_metrics must return a dict.*float'):
        runner.train()
    assert 'compute_metrics' not in vars(runner.val_evaluator.metrics[0])  # guard removed


class WrongSignature(Hook):
    def after_train_iter(self, runner):  # misses batch_idx, data_batch, outputs
        pass


def test_hook_with_wrong_signature_is_named(tmp_path):
    runner = _runner(tmp_path, hooks=[WrongSignature()])
    with pytest.raises(TypeError, match=r'WrongSignature\.after_train_iter.*signature'):
        runner.train()


@pytest.mark.parametrize('loader, message', [
    (_loader(size=0), 'is empty'),
    (_loader(size=3, batch_size=4, drop_last=True), 'yields no batch.*drop_last=True'),
], ids=['empty-dataset', 'shorter-than-a-batch-with-drop-last'])
def test_data_that_yields_no_batch_fails_before_training(tmp_path, loader, message):
    runner = _runner(tmp_path, loader=loader)
    with pytest.raises(ValueError, match=message):
        runner.train()
    assert runner.iter == 0 and not glob.glob(str(tmp_path / 'work' / '*.pth'))


def test_batch_larger_than_dataset_warns_and_trains(tmp_path):
    runner = _runner(tmp_path, loader=_loader(size=3, batch_size=8))
    with pytest.warns(UserWarning, match='batch_size=8 is larger than the dataset'):
        runner.train()
    assert runner.iter == 2


def test_unwritable_work_dir_fails_first_and_writes_nothing(tmp_path):
    blocker = tmp_path / 'a_file'
    blocker.write_text('not a directory')
    with pytest.raises(OSError, match=r"work_dir '.*a_file/work' cannot be used"):
        Runner(model=Regressor(), work_dir=str(blocker / 'work'))
    assert blocker.read_text() == 'not a directory'


# ---------------------------------------------------------------------- non-finite losses
def test_nonfinite_loss_stops_on_the_next_logged_iteration_with_a_hint(tmp_path):
    runner = _runner(tmp_path, model=Regressor(nan_at=(2,)), interval=5,
                     loader=_loader(size=16))
    with pytest.raises(FloatingPointError) as info:
        runner.train()
    message = str(info.value)
    # NaN in iteration 3, noticed when iteration 5 is logged (no sync before that).
    assert 'at or before iteration 5' in message and "'loss': nan" in message
    assert 'learning rate' in message and 'clip_grad' in message and 'fp16' in message
    assert runner.iter == 5
    assert 'Training failed on rank 0 at iteration 5' in _log_text(tmp_path)


def test_check_finite_stops_at_the_exact_iteration(tmp_path):
    runner = _runner(tmp_path, model=Regressor(nan_at=(2,)),
                     train_cfg=dict(by_epoch=True, max_epochs=2, check_finite=True))
    with pytest.raises(FloatingPointError, match='at iteration 3 '):
        runner.train()


def test_nonfinite_skip_skips_the_step_and_keeps_training(tmp_path):
    runner = _runner(tmp_path, model=Regressor(nan_at=(1, 5)),
                     train_cfg=dict(by_epoch=False, max_iters=8, nonfinite='skip'),
                     loader=dict(_loader(), sampler=dict(type='InfiniteSampler',
                                                         shuffle=False)))
    runner.train()
    assert runner.iter == 8 and runner.train_loop.faults.skipped == 2
    assert all(math.isfinite(float(p.abs().sum())) for p in runner.model.parameters())
    assert 'update_params' not in vars(runner.optim_wrapper)  # the guard is removed
    assert 'step is skipped (2 skipped so far)' in _log_text(tmp_path)


def test_invalid_nonfinite_option_is_rejected(tmp_path):
    runner = _runner(tmp_path, train_cfg=dict(by_epoch=True, max_epochs=1, nonfinite='ignore'))
    with pytest.raises(ValueError, match="nonfinite must be one of"):
        runner.train()
    assert not osp.exists(tmp_path / 'work' / 'epoch_1.pth')
