from __future__ import annotations

from types import SimpleNamespace

from mmengine.hooks import EmptyCacheHook, Hook, IterTimerHook
from mmengine.registry import HOOKS


def test_every_n_helpers():
    hook = Hook()
    runner = SimpleNamespace(epoch=4, iter=9, max_epochs=5, max_iters=10)
    assert hook.every_n_epochs(runner, 5) and not hook.every_n_epochs(runner, 2)
    assert hook.every_n_epochs(runner, 2, start=1)  # epochs 1, 3, 5 (1-based)
    assert not hook.every_n_epochs(runner, 0)
    assert hook.every_n_train_iters(runner, 5) and not hook.every_n_train_iters(runner, 3)
    assert not hook.every_n_train_iters(runner, 5, start=20)
    assert hook.every_n_inner_iters(9, 10) and not hook.every_n_inner_iters(8, 10)
    assert hook.end_of_epoch([0, 1, 2], 2) and not hook.end_of_epoch([0, 1, 2], 1)
    assert hook.is_last_train_epoch(runner) and hook.is_last_train_iter(runner)


def test_generic_helpers_dispatch_to_modes():
    calls = []

    class Recorder(Hook):
        def _after_iter(self, runner, batch_idx, data_batch=None, outputs=None, mode='train'):
            calls.append((mode, batch_idx))

    hook = Recorder()
    hook.after_train_iter(None, 1)
    hook.after_val_iter(None, 2)
    hook.after_test_iter(None, 3)
    assert calls == [('train', 1), ('val', 2), ('test', 3)]
    assert hook.get_triggered_stages() == ['after_train_iter', 'after_val_iter',
                                           'after_test_iter']


def test_triggered_stages():
    assert Hook().get_triggered_stages() == []
    assert IterTimerHook().get_triggered_stages() == [
        'before_train', 'before_train_epoch', 'before_train_iter', 'after_train_iter',
        'before_val_epoch', 'before_val_iter', 'after_val_iter', 'after_val',
        'before_test_epoch', 'before_test_iter', 'after_test_iter', 'after_test']
    assert 'after_train_epoch' in EmptyCacheHook().get_triggered_stages()


def test_priorities_and_registry():
    expected = {'RuntimeInfoHook': 'VERY_HIGH', 'IterTimerHook': 'NORMAL',
                'DistSamplerSeedHook': 'NORMAL', 'LoggerHook': 'BELOW_NORMAL',
                'ParamSchedulerHook': 'LOW', 'CheckpointHook': 'VERY_LOW', 'EMAHook': 'NORMAL',
                'EmptyCacheHook': 'NORMAL', 'SyncBuffersHook': 'NORMAL',
                'ProfilerHook': 'VERY_LOW', 'EarlyStoppingHook': 'LOWEST'}
    for name, priority in expected.items():
        assert HOOKS.get(name).priority == priority, name
