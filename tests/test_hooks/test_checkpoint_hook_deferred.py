"""CheckpointHook with background commits: bookkeeping only after the commit, failures
handled per ``on_save_error`` at the next wait, hub and hook state rolled back."""
from __future__ import annotations

import json
import os
import os.path as osp

import pytest
import torch

from mmengine.hooks import CheckpointHook
from mmengine.runner.checkpoint import (
    MANIFEST,
    CheckpointSaveError,
    read_manifest,
    save_checkpoint,
    wait_for_checkpoint_commits,
)
from tests.test_runner._commit_gate import fail_rename, gate, temporaries  # noqa: F401

from .fake_runner import FakeRunner


class SavingRunner(FakeRunner):
    """A FakeRunner whose saves go through mmengine's checkpoint writer."""

    def __init__(self, work_dir, **kwargs):
        super().__init__(work_dir, **kwargs)
        self.logger.error = self.logger.info

    def save_checkpoint(self, out_dir, filename, file_client_args=None, save_optimizer=True,
                        save_param_scheduler=True, meta=None, by_epoch=True,
                        backend_args=None):
        self.saved.append((out_dir, filename, dict(meta or {})))
        checkpoint = {'meta': dict(meta or {}), 'state_dict': self.model.state_dict(),
                      'message_hub': self.message_hub.state_dict()}
        save_checkpoint(checkpoint, osp.join(out_dir, filename))


def _epoch(runner, hook, epoch, metrics=None):
    runner.epoch = epoch
    runner.iter += 1
    hook.after_train_epoch(runner)
    if metrics is not None:
        runner.epoch = epoch + 1
        hook.after_val_epoch(runner, metrics)


def _pointer(runner) -> str:
    with open(osp.join(runner.work_dir, 'last_checkpoint')) as file:
        return osp.basename(file.read())


def _recorded(runner) -> list[str]:
    """The manifest's file names, read directly (read_manifest would wait for the commit)."""
    with open(osp.join(runner.work_dir, MANIFEST)) as file:
        return [osp.basename(r['path']) for r in json.load(file)['checkpoints']]


def _pth(runner) -> list[str]:
    return sorted(n for n in os.listdir(runner.work_dir) if n.endswith('.pth'))


def test_manifest_and_pointer_follow_the_commit(tmp_path, gate):  # noqa: F811
    runner = SavingRunner(tmp_path / 'work', max_epochs=3, train_len=1)
    hook = CheckpointHook(interval=1)
    hook.before_train(runner)
    gate.release()
    _epoch(runner, hook, 0)
    wait_for_checkpoint_commits()
    gate.event.clear()  # hold the next commit
    _epoch(runner, hook, 1)
    assert hook.last_ckpt.endswith('epoch_2.pth')  # the checkpoint itself carries it
    assert _pth(runner) == ['epoch_1.pth'] and len(temporaries(runner.work_dir)) == 1
    assert _pointer(runner) == 'epoch_1.pth' and _recorded(runner) == ['epoch_1.pth']
    gate.release()
    hook.after_train(runner)  # waits
    assert _pointer(runner) == 'epoch_2.pth'
    assert _recorded(runner) == ['epoch_1.pth', 'epoch_2.pth']
    saved = torch.load(osp.join(runner.work_dir, 'epoch_2.pth'), weights_only=True)
    assert saved['message_hub']['runtime_info']['last_ckpt'].endswith('epoch_2.pth')


def test_max_keep_deletes_the_old_file_only_after_the_commit(tmp_path, gate):  # noqa: F811
    runner = SavingRunner(tmp_path / 'work', max_epochs=3, train_len=1)
    hook = CheckpointHook(interval=1, max_keep_ckpts=1)
    hook.before_train(runner)
    gate.release()
    _epoch(runner, hook, 0)
    wait_for_checkpoint_commits()
    gate.event.clear()
    _epoch(runner, hook, 1)
    assert _pth(runner) == ['epoch_1.pth']  # still there while epoch 2 is not durable
    gate.release()
    hook.after_train(runner)
    assert _pth(runner) == ['epoch_2.pth'] and _recorded(runner) == ['epoch_2.pth']


def test_failed_commit_raises_at_the_next_wait_and_rolls_back(tmp_path, monkeypatch,
                                                               gate):  # noqa: F811
    runner = SavingRunner(tmp_path / 'work', max_epochs=3, train_len=1)
    hook = CheckpointHook(interval=1, max_keep_ckpts=1)
    hook.before_train(runner)
    gate.release()
    _epoch(runner, hook, 0)
    fail_rename(monkeypatch, 'epoch_2.pth')
    _epoch(runner, hook, 1)  # returns: the failure happens in the committer thread
    work = runner.work_dir
    with pytest.raises(CheckpointSaveError, match=osp.join(work, 'epoch_2.pth')):
        hook.after_train(runner)
    assert _pth(runner) == ['epoch_1.pth'] and temporaries(work) == []
    assert _pointer(runner) == 'epoch_1.pth' and _recorded(runner) == ['epoch_1.pth']
    assert hook.last_ckpt == osp.join(work, 'epoch_1.pth') and list(hook.keep_ckpt_ids) == [1]
    assert runner.message_hub.get_info('last_ckpt') == osp.join(work, 'epoch_1.pth')
    assert runner.message_hub.get_info('keep_ckpt_ids') == [1]
    assert any('Saving checkpoint epoch_2.pth' in m for m in runner.logger.messages)


def test_failed_commit_with_continue_trains_on(tmp_path, monkeypatch, gate):  # noqa: F811
    runner = SavingRunner(tmp_path / 'work', max_epochs=3, train_len=1)
    hook = CheckpointHook(interval=1, max_keep_ckpts=2, on_save_error='continue')
    hook.before_train(runner)
    gate.release()
    fail_rename(monkeypatch, 'epoch_2.pth')
    for epoch in range(3):
        _epoch(runner, hook, epoch)
    hook.after_train(runner)  # no error: it was tolerated
    # epoch 2 never existed, so epoch 1 is still one of the two newest checkpoints.
    assert _pth(runner) == ['epoch_1.pth', 'epoch_3.pth']
    assert runner.message_hub.get_info('keep_ckpt_ids') == [1, 3]
    saved = torch.load(osp.join(runner.work_dir, 'epoch_3.pth'), weights_only=True)
    assert saved['message_hub']['runtime_info']['keep_ckpt_ids'] == [1, 3]
    assert any('training goes on' in m for m in runner.logger.messages)


def test_previous_best_goes_only_after_the_new_best_is_committed(tmp_path, gate):  # noqa: F811
    runner = SavingRunner(tmp_path / 'work', max_epochs=3, train_len=1)
    hook = CheckpointHook(interval=10, save_best='acc', rule='greater', save_last=False)
    hook.before_train(runner)
    gate.release()
    _epoch(runner, hook, 0, {'acc': 0.5})
    wait_for_checkpoint_commits()
    gate.event.clear()
    _epoch(runner, hook, 1, {'acc': 0.7})
    assert _pth(runner) == ['best_acc_epoch_1.pth']
    gate.release()
    hook.after_train(runner)
    assert _pth(runner) == ['best_acc_epoch_2.pth']
    assert [(osp.basename(r['path']), r['kind']) for r in read_manifest(runner.work_dir)] == [
        ('best_acc_epoch_2.pth', 'best')]


def test_failed_best_commit_restores_the_best_score(tmp_path, monkeypatch, gate):  # noqa: F811
    runner = SavingRunner(tmp_path / 'work', max_epochs=3, train_len=1)
    hook = CheckpointHook(interval=10, save_best='acc', rule='greater', save_last=False,
                          on_save_error='continue')
    hook.before_train(runner)
    gate.release()
    _epoch(runner, hook, 0, {'acc': 0.5})
    fail_rename(monkeypatch, 'best_acc_epoch_2.pth')
    _epoch(runner, hook, 1, {'acc': 0.7})
    _epoch(runner, hook, 2, {'acc': 0.6})  # better than the surviving best (0.5)
    hook.after_train(runner)
    assert _pth(runner) == ['best_acc_epoch_3.pth']
    assert runner.message_hub.get_info('best_score') == 0.6
    assert hook.best_ckpt_path == osp.join(runner.work_dir, 'best_acc_epoch_3.pth')


def test_saves_outside_training_are_synchronous(tmp_path, gate):  # noqa: F811
    runner = SavingRunner(tmp_path / 'work', max_epochs=3, train_len=1)
    hook = CheckpointHook(interval=1)
    hook.before_train(runner)
    hook.after_train(runner)
    _epoch(runner, hook, 0)  # e.g. a hook method called by hand after training
    assert _pth(runner) == ['epoch_1.pth'] and gate.started == []
