from __future__ import annotations

import hashlib
import os
import os.path as osp

import pytest
import torch

from mmengine.hooks import CheckpointHook

from .fake_runner import FakeRunner


def _train_epochs(runner, hook, epochs, metrics=None):
    hook.before_train(runner)
    for epoch in range(epochs):
        runner.epoch = epoch
        for _ in runner.train_dataloader:
            runner.iter += 1
        hook.after_train_epoch(runner)
        runner.epoch = epoch + 1
        if metrics is not None:
            hook.after_val_epoch(runner, metrics[epoch])
    hook.after_train(runner)


def _pth(directory):
    return sorted(f for f in os.listdir(directory) if f.endswith('.pth'))


def test_interval_by_epoch(tmp_path):
    runner = FakeRunner(tmp_path / 'work', max_epochs=20, train_len=1)
    _train_epochs(runner, CheckpointHook(interval=5, by_epoch=True), 20)
    assert _pth(runner.work_dir) == ['epoch_10.pth', 'epoch_15.pth', 'epoch_20.pth',
                                     'epoch_5.pth']
    with open(osp.join(runner.work_dir, 'last_checkpoint')) as f:
        assert f.read() == osp.join(runner.work_dir, 'epoch_20.pth')
    assert 'Checkpoints will be saved to' in runner.logger.messages[0]
    assert runner.saved[0][2] == {'epoch': 5, 'iter': 5}


def test_interval_by_iter(tmp_path):
    runner = FakeRunner(tmp_path / 'work', max_iters=12, by_epoch=False)
    hook = CheckpointHook(interval=5, by_epoch=False)
    hook.before_train(runner)
    for it in range(12):
        runner.iter = it
        hook.after_train_epoch(runner)  # ignored when by_epoch=False
        hook.after_train_iter(runner, it)
    assert _pth(runner.work_dir) == ['iter_10.pth', 'iter_12.pth', 'iter_5.pth']


def test_max_keep_ckpts_keeps_newest(tmp_path):
    # Tutorial 7.3.1 (2): 20 epochs, interval 5, max_keep_ckpts 2 -> epochs 15 and 20 remain.
    runner = FakeRunner(tmp_path / 'work', max_epochs=20, train_len=1)
    _train_epochs(runner, CheckpointHook(interval=5, max_keep_ckpts=2), 20)
    assert _pth(runner.work_dir) == ['epoch_15.pth', 'epoch_20.pth']
    assert runner.message_hub.get_info('keep_ckpt_ids') == [15, 20]


def test_max_keep_ckpts_across_resume(tmp_path):
    runner = FakeRunner(tmp_path / 'work', max_epochs=6, train_len=1)
    _train_epochs(runner, CheckpointHook(interval=1, max_keep_ckpts=3), 4)
    assert _pth(runner.work_dir) == ['epoch_2.pth', 'epoch_3.pth', 'epoch_4.pth']
    # A resumed run with a smaller max_keep_ckpts trims the recorded list first.
    hook = CheckpointHook(interval=1, max_keep_ckpts=2)
    hook.before_train(runner)
    assert _pth(runner.work_dir) == ['epoch_3.pth', 'epoch_4.pth']
    runner.epoch = 4
    hook.after_train_epoch(runner)
    assert _pth(runner.work_dir) == ['epoch_4.pth', 'epoch_5.pth']


@pytest.mark.parametrize('save_last, expected', [
    (False, ['epoch_5.pth', 'epoch_7.pth', 'epoch_9.pth']),
    # save_last (default True) also keeps the final epoch, which the tutorial's sentence omits.
    (True, ['epoch_10.pth', 'epoch_5.pth', 'epoch_7.pth', 'epoch_9.pth']),
])
def test_save_begin(tmp_path, save_last, expected):
    runner = FakeRunner(tmp_path / 'work', max_epochs=10, train_len=1)
    _train_epochs(runner, CheckpointHook(interval=2, save_begin=5, save_last=save_last), 10)
    assert _pth(runner.work_dir) == expected


def test_save_begin_interval_one(tmp_path):
    runner = FakeRunner(tmp_path / 'work', max_epochs=10, train_len=1)
    _train_epochs(runner, CheckpointHook(interval=1, save_begin=5), 10)
    assert _pth(runner.work_dir) == sorted(f'epoch_{i}.pth' for i in range(5, 11))


def test_out_dir_appends_work_dir_name(tmp_path):
    runner = FakeRunner(tmp_path / 'work', max_epochs=2, train_len=1)
    out = tmp_path / 'elsewhere'
    _train_epochs(runner, CheckpointHook(interval=1, out_dir=str(out)), 2)
    assert _pth(out / 'work') == ['epoch_1.pth', 'epoch_2.pth']
    assert _pth(runner.work_dir) == []
    with open(osp.join(runner.work_dir, 'last_checkpoint')) as f:
        assert f.read() == osp.join(str(out), 'work', 'epoch_2.pth')


def test_save_best_auto_replaces_previous(tmp_path):
    runner = FakeRunner(tmp_path / 'work', max_epochs=4, train_len=1)
    metrics = [{'accuracy': 0.5}, {'accuracy': 0.7}, {'accuracy': 0.6}, {'accuracy': 0.8}]
    hook = CheckpointHook(interval=1, save_best='auto')
    _train_epochs(runner, hook, 4, metrics)
    files = _pth(runner.work_dir)
    assert [f for f in files if f.startswith('best')] == ['best_accuracy_epoch_4.pth']
    assert runner.message_hub.get_info('best_score') == 0.8
    assert runner.message_hub.get_info('best_ckpt') == osp.join(runner.work_dir,
                                                                'best_accuracy_epoch_4.pth')
    best_saves = [s for s in runner.saved if s[1].startswith('best')]
    assert [s[1] for s in best_saves] == ['best_accuracy_epoch_1.pth',
                                          'best_accuracy_epoch_2.pth',
                                          'best_accuracy_epoch_4.pth']


def test_save_best_less_rule_and_resume(tmp_path):
    runner = FakeRunner(tmp_path / 'work', max_epochs=4, train_len=1)
    _train_epochs(runner, CheckpointHook(save_best='loss'), 2, [{'loss': 1.0}, {'loss': 0.5}])
    assert runner.message_hub.get_info('best_score') == 0.5
    # A new hook (resumed run) reads the best score and file from the MessageHub.
    hook = CheckpointHook(save_best='loss')
    hook.before_train(runner)
    assert hook.best_ckpt_path == osp.join(runner.work_dir, 'best_loss_epoch_2.pth')
    runner.epoch = 3
    hook.after_val_epoch(runner, {'loss': 0.7})  # worse: nothing changes
    assert [f for f in _pth(runner.work_dir) if f.startswith('best')] == [
        'best_loss_epoch_2.pth']
    hook.after_val_epoch(runner, {'loss': 0.2})
    assert [f for f in _pth(runner.work_dir) if f.startswith('best')] == [
        'best_loss_epoch_3.pth']


def test_save_best_multiple_keys_and_explicit_rule(tmp_path):
    runner = FakeRunner(tmp_path / 'work', max_epochs=2, train_len=1)
    hook = CheckpointHook(save_best=['top-1', 'err'], rule=['greater', 'less'])
    _train_epochs(runner, hook, 2, [{'top-1': 1, 'err': 3}, {'top-1': 0, 'err': 2}])
    best = [f for f in _pth(runner.work_dir) if f.startswith('best')]
    assert best == ['best_err_epoch_2.pth', 'best_top-1_epoch_1.pth']


def test_rule_inference_and_errors():
    assert CheckpointHook(save_best='mAP').rules == ['greater']
    assert CheckpointHook(save_best='val_loss').rules == ['less']
    assert CheckpointHook(save_best='coco/bbox_mAP').rules == ['greater']
    assert CheckpointHook(save_best='foo', greater_keys=['foo']).rules == ['greater']
    with pytest.raises(ValueError, match='Cannot infer'):
        CheckpointHook(save_best='foo')
    with pytest.raises(ValueError, match="'greater', 'less'"):
        CheckpointHook(save_best='acc', rule='bigger')
    with pytest.raises(ValueError, match='auto'):
        CheckpointHook(save_best=['auto', 'acc'])
    with pytest.raises(ValueError, match='save_begin'):
        CheckpointHook(save_begin=-1)


def test_published_keys(tmp_path):
    runner = FakeRunner(tmp_path / 'work', max_epochs=2, train_len=1)
    hook = CheckpointHook(interval=1, save_best='accuracy', rule='greater',
                          published_keys=['meta', 'state_dict'])
    _train_epochs(runner, hook, 2, [{'accuracy': 1.0}, {'accuracy': 0.5}])
    published = [f for f in _pth(runner.work_dir) if '-' in f]
    assert len(published) == 2
    for name in published:
        path = osp.join(runner.work_dir, name)
        with open(path, 'rb') as f:
            digest = hashlib.sha256(f.read()).hexdigest()[:8]
        assert name.endswith(f'-{digest}.pth')
        assert set(torch.load(path, weights_only=True)) == {'meta', 'state_dict'}
    assert {n.rsplit('-', 1)[0] for n in published} == {'epoch_2', 'best_accuracy_epoch_1'}


def test_published_keys_needs_best_or_last():
    with pytest.raises(ValueError, match='published_keys'):
        CheckpointHook(save_last=False, published_keys=['meta'])
