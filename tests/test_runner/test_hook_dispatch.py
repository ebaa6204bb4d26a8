"""HookTable.call: every hook signature MMEngine allows gets the same values, and a method
patched on later is the one called."""
from __future__ import annotations

import functools

from mmengine.hooks import Hook
from mmengine.runner._hooks import HookTable

RUNNER = object()
KWARGS = dict(batch_idx=3, data_batch='batch', outputs={'loss': 1.0})


class Standard(Hook):
    def __init__(self):
        self.seen = []

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.seen.append((runner, batch_idx, data_batch, outputs))


class Reordered(Hook):
    def __init__(self):
        self.seen = []

    def after_train_iter(self, runner, outputs=None, data_batch=None, batch_idx=0):
        self.seen.append((runner, batch_idx, data_batch, outputs))


class Keywords(Hook):
    def __init__(self):
        self.seen = []

    def after_train_iter(self, runner, **kwargs):
        self.seen.append((runner, kwargs['batch_idx'], kwargs['data_batch'], kwargs['outputs']))


def _logged(method):
    @functools.wraps(method)
    def wrapper(self, runner, **kwargs):
        return method(self, runner, **kwargs)
    return wrapper


class Decorated(Hook):
    def __init__(self):
        self.seen = []

    @_logged
    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.seen.append((runner, batch_idx, data_batch, outputs))


EXPECTED = (RUNNER, 3, 'batch', {'loss': 1.0})


def _table(*hooks):
    table = HookTable()
    for hook in hooks:
        table.insert(hook)
    return table


def test_every_signature_gets_the_same_values():
    hooks = [Standard(), Reordered(), Keywords(), Decorated()]
    table = _table(*hooks)
    for _ in range(2):  # the first call builds the cache, the second uses it
        table.call(RUNNER, 'after_train_iter', dict(KWARGS))
    for hook in hooks:
        assert hook.seen == [EXPECTED, EXPECTED], type(hook).__name__


def test_keywords_in_another_order_still_reach_the_right_parameters():
    hook = Standard()
    table = _table(hook)
    table.call(RUNNER, 'after_train_iter', dict(KWARGS))
    table.call(RUNNER, 'after_train_iter',
               dict(outputs={'loss': 1.0}, data_batch='batch', batch_idx=3))
    assert hook.seen == [EXPECTED, EXPECTED]


def test_a_method_patched_on_the_instance_later_is_the_one_called_with_keywords():
    hook = Standard()
    table = _table(hook)
    table.call(RUNNER, 'after_train_iter', dict(KWARGS))
    calls = []
    hook.after_train_iter = lambda runner, **kwargs: calls.append(kwargs)
    table.call(RUNNER, 'after_train_iter', dict(KWARGS))
    assert calls == [KWARGS] and len(hook.seen) == 1
    del hook.after_train_iter
    table.call(RUNNER, 'after_train_iter', dict(KWARGS))
    assert len(hook.seen) == 2


def test_a_method_replaced_on_the_class_later_is_the_one_called():
    class Local(Standard):
        pass

    hook = Local()
    table = _table(hook)
    table.call(RUNNER, 'after_train_iter', dict(KWARGS))
    calls = []
    Local.after_train_iter = lambda self, runner, **kwargs: calls.append(kwargs)
    table.call(RUNNER, 'after_train_iter', dict(KWARGS))
    assert calls == [KWARGS] and len(hook.seen) == 1
