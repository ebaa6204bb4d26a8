"""Deferred checkpoint commits through the real Runner: direct saves stay synchronous,
training ends with its checkpoints on disk, and a resume in the same process waits."""
from __future__ import annotations

import os.path as osp

import pytest
import torch
from torch.utils.data import DataLoader

from mmengine.hooks import Hook
from mmengine.runner import Runner
from mmengine.runner.checkpoint import read_manifest
from tests._helpers.toy import RingsDataset, RingsModel

from ._commit_gate import committer_threads, gate, slow_commits  # noqa: F401


def _runner(work_dir, max_epochs=2, resume=False, hooks=None):
    return Runner(
        model=RingsModel(), work_dir=str(work_dir),
        train_dataloader=DataLoader(RingsDataset(True, 32), batch_size=16, shuffle=False),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1),
                           logger=dict(type='LoggerHook', interval=100)),
        custom_hooks=hooks or [], resume=resume, randomness=dict(seed=1),
        experiment_name=f'deferred_{osp.basename(str(work_dir))}_{int(resume)}')


class SaveByHand(Hook):
    """Calls runner.save_checkpoint itself, as user code does, and checks the file at once."""
    priority = 'LOWEST'  # after the CheckpointHook's own (deferred) save

    def after_train_epoch(self, runner):
        runner.save_checkpoint(runner.work_dir, f'manual_{runner.epoch}.pth')
        self.found = osp.isfile(osp.join(runner.work_dir, f'manual_{runner.epoch}.pth'))


class StartedAt(Hook):
    """Records where training starts; can release a held commit right before the resume."""

    def __init__(self, release=None):
        self.release = release

    def before_run(self, runner):
        if self.release is not None:
            self.release.release(after=0.3)

    def before_train(self, runner):
        self.position = (runner.epoch, runner.iter)


class Crash(Hook):
    priority = 'LOWEST'

    def after_train_epoch(self, runner):
        raise RuntimeError('crash after the save')


def test_direct_runner_save_is_synchronous_during_training(tmp_path, gate):  # noqa: F811
    gate.release(after=0.3)  # the hook's own commits are slow
    probe = SaveByHand()
    _runner(tmp_path, max_epochs=1, hooks=[probe]).train()
    assert probe.found
    assert gate.started == ['epoch_1.pth']  # only the hook's save went to the committer


def test_training_returns_with_the_last_checkpoint_committed(tmp_path, monkeypatch):
    slow_commits(monkeypatch, 0.3)
    _runner(tmp_path).train()
    assert committer_threads() == []
    with open(tmp_path / 'last_checkpoint') as file:
        assert file.read() == str(tmp_path / 'epoch_2.pth')
    assert [osp.basename(r['path']) for r in read_manifest(str(tmp_path))] == [
        'epoch_1.pth', 'epoch_2.pth']
    probe = StartedAt()
    with pytest.warns(UserWarning, match='max_epochs: 2 -> 3'):
        _runner(tmp_path, max_epochs=3, resume=True, hooks=[probe]).train()
    assert probe.position == (2, 4)


def test_resume_in_the_same_process_after_a_crash_waits_for_the_commit(tmp_path,
                                                                       gate):  # noqa: F811
    with pytest.raises(RuntimeError, match='crash after the save'):
        _runner(tmp_path, hooks=[Crash()]).train()  # no after_train: the commit is pending
    assert gate.started == ['epoch_1.pth'] and not osp.exists(tmp_path / 'epoch_1.pth')
    probe = StartedAt(release=gate)  # lets the commit go just before the resume
    _runner(tmp_path, resume=True, hooks=[probe]).train()
    assert probe.position == (1, 2)
    state = torch.load(tmp_path / 'epoch_2.pth', weights_only=True)
    assert state['meta']['epoch'] == 2
