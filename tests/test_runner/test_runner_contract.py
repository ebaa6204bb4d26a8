"""Contract tests: the order and count of hook stages in every kind of run."""
from __future__ import annotations

import copy

import pytest

from mmengine.hooks import Hook
from tests._helpers.recording import RecordingHook


def _run(case, cfg, action='train'):
    cfg = copy.deepcopy(cfg)
    recorder = RecordingHook()
    cfg.custom_hooks = [recorder]
    runner = case.build_runner(cfg)
    recorder = _find(runner, RecordingHook)  # the config (and its hooks) is deep-copied
    result = getattr(runner, action)()
    return runner, recorder, result


def _find(runner, hook_type):
    return next(h for h in runner.hooks if isinstance(h, hook_type))


def _iteration_block(mode, n):
    block = []
    for _ in range(n):
        block += [f'before_{mode}_iter', f'after_{mode}_iter']
    return block


def _eval_block(mode, n_iters):
    return ([f'before_{mode}', f'before_{mode}_epoch'] + _iteration_block(mode, n_iters)
            + [f'after_{mode}_epoch', f'after_{mode}'])


def test_epoch_based_stage_order(case):
    cfg = case.epoch_based_cfg
    cfg.default_hooks = dict(checkpoint=None)
    runner, recorder, _ = _run(case, cfg)
    per_epoch = (['before_train_epoch'] + _iteration_block('train', 4) + ['after_train_epoch']
                 + _eval_block('val', 4))
    expected = ['before_run', 'before_train'] + per_epoch * 2 + ['after_train', 'after_run']
    assert recorder.stages() == expected
    assert runner.epoch == 2 and runner.iter == 8
    assert [d for s, d in recorder.calls if s == 'before_train_iter'] == [0, 1, 2, 3] * 2


def test_iter_based_stage_order_and_validation_interval(case):
    cfg = case.iter_based_cfg
    cfg.train_cfg = dict(by_epoch=False, max_iters=6, val_interval=4)
    cfg.default_hooks = dict(checkpoint=None)
    runner, recorder, _ = _run(case, cfg)
    expected = (['before_run', 'before_train', 'before_train_epoch']
                + _iteration_block('train', 4) + _eval_block('val', 4)
                + _iteration_block('train', 2) + _eval_block('val', 4)
                + ['after_train_epoch', 'after_train', 'after_run'])
    assert recorder.stages() == expected
    assert [d for s, d in recorder.calls if s == 'after_train_iter'] == list(range(6))
    assert runner.iter == 6


def test_val_begin_and_interval(case):
    cfg = case.epoch_based_cfg
    cfg.train_cfg = dict(by_epoch=True, max_epochs=5, val_begin=2, val_interval=2)
    cfg.default_hooks = dict(checkpoint=None)
    _, recorder, _ = _run(case, cfg)
    # validation after epochs 2 and 4, and after the last epoch (5)
    epochs_seen, val_after = 0, []
    for stage in recorder.stages():
        if stage == 'after_train_epoch':
            epochs_seen += 1
        if stage == 'before_val':
            val_after.append(epochs_seen)
    assert val_after == [2, 4, 5]


def test_val_only_and_test_only(case):
    _, recorder, metrics = _run(case, case.epoch_based_cfg, 'val')
    assert recorder.stages() == ['before_run'] + _eval_block('val', 4) + ['after_run']
    assert metrics == {'acc': 1}
    _, recorder, metrics = _run(case, case.epoch_based_cfg, 'test')
    assert recorder.stages() == ['before_run'] + _eval_block('test', 4) + ['after_run']
    assert metrics == {'acc': 1}


class _StopAfterFirstEpoch(Hook):
    def after_train_epoch(self, runner):
        runner.train_loop.stop_training = True


def test_early_stop_ends_training(case):
    cfg = copy.deepcopy(case.epoch_based_cfg)
    cfg.train_cfg = dict(by_epoch=True, max_epochs=5)
    cfg.default_hooks = dict(checkpoint=None)
    recorder = RecordingHook()
    cfg.custom_hooks = [_StopAfterFirstEpoch(), recorder]
    runner = case.build_runner(cfg)
    recorder = _find(runner, RecordingHook)
    runner.train()
    assert runner.epoch == 1
    assert recorder.stages().count('after_train_epoch') == 1


def test_checkpoint_stages_called_around_save_and_resume(case):
    cfg = case.epoch_based_cfg
    runner, recorder, _ = _run(case, cfg)
    assert recorder.stages().count('before_save_checkpoint') == 2
    cfg = copy.deepcopy(cfg)
    cfg.train_cfg = dict(by_epoch=True, max_epochs=3)
    cfg.resume = True
    runner, recorder, _ = _run(case, cfg)
    assert recorder.stages()[:2] == ['before_run', 'after_load_checkpoint']
    assert recorder.stages().count('after_train_epoch') == 1
    assert runner.epoch == 3


def test_hooks_only_called_where_they_participate(case):
    class OnlyAfterRun(Hook):
        calls = 0

        def after_run(self, runner):
            type(self).calls += 1

    cfg = copy.deepcopy(case.epoch_based_cfg)
    cfg.custom_hooks = [OnlyAfterRun()]
    runner = case.build_runner(cfg)
    hook = _find(runner, OnlyAfterRun)
    assert hook not in runner._hook_table.for_stage('after_train_iter')
    runner.train()
    assert OnlyAfterRun.calls == 1


def test_type_error_in_hook_names_the_hook(case):
    class Broken(Hook):
        def before_train(self, runner, unexpected):
            pass

    cfg = copy.deepcopy(case.epoch_based_cfg)
    cfg.custom_hooks = [Broken()]
    runner = case.build_runner(cfg)
    with pytest.raises(TypeError, match=r'Broken\.before_train'):
        runner.train()


def test_priority_order_and_ties(case):
    class A(Hook):
        priority = 'HIGH'

        def before_run(self, runner):
            pass

    class B(Hook):
        def before_run(self, runner):
            pass

    class C(Hook):
        def before_run(self, runner):
            pass

    cfg = copy.deepcopy(case.epoch_based_cfg)
    cfg.custom_hooks = [B(), C(), A(), dict(type='EmptyCacheHook', priority='LOWEST')]
    runner = case.build_runner(cfg)
    names = [type(h).__name__ for h in runner.hooks]
    assert names.index('A') < names.index('B') < names.index('C')
    assert names[-1] == 'EmptyCacheHook'
    assert names[0] == 'RuntimeInfoHook'
    # mutations of runner.hooks are seen by dispatch
    runner.hooks.pop(names.index('B'))
    assert 'B' not in [type(h).__name__ for h in runner._hook_table.for_stage('before_run')]
    info = runner.get_hooks_info()
    assert 'before_run:' in info and '(HIGH        ) A' in info


def test_hooks_sit_out_stages_their_configuration_leaves_idle(case):
    from mmengine.hooks import CheckpointHook, ParamSchedulerHook

    cfg = copy.deepcopy(case.epoch_based_cfg)  # saves by epoch; schedulers step by epoch
    cfg.param_scheduler = dict(type='MultiStepLR', milestones=[1], by_epoch=True)
    runner = case.build_runner(cfg)
    table = runner._hook_table
    checkpoint, scheduler = _find(runner, CheckpointHook), _find(runner, ParamSchedulerHook)
    assert checkpoint in table.for_stage('after_train_iter')  # until training starts
    runner.train()
    per_iter = table.for_stage('after_train_iter')
    assert checkpoint not in per_iter and scheduler not in per_iter
    assert checkpoint in table.for_stage('after_train_epoch')
    assert scheduler in table.for_stage('after_train_epoch')
    # A change of the idle set is picked up by the dispatch cache at once.
    checkpoint._set_idle_stages(())
    assert checkpoint in table.for_stage('after_train_iter')


def test_iteration_schedulers_keep_the_scheduler_hook_in_every_iteration(case):
    from mmengine.hooks import CheckpointHook, ParamSchedulerHook

    cfg = copy.deepcopy(case.iter_based_cfg)
    cfg.param_scheduler = dict(type='LinearLR', start_factor=0.5, by_epoch=False, end=4)
    runner = case.build_runner(cfg)
    runner.train()
    per_iter = runner._hook_table.for_stage('after_train_iter')
    assert _find(runner, ParamSchedulerHook) in per_iter
    assert _find(runner, CheckpointHook) in per_iter  # saves by iteration
    assert _find(runner, CheckpointHook) not in runner._hook_table.for_stage('after_train_epoch')


def test_iter_based_training_iterations_run_in_train_mode_after_validation(case):
    class ModeRecorder(Hook):
        def __init__(self):
            self.modes = []

        def before_train_iter(self, runner, batch_idx, data_batch=None):
            self.modes.append(runner.model.training)

    cfg = case.iter_based_cfg
    cfg.train_cfg = dict(by_epoch=False, max_iters=6, val_interval=2)
    cfg.default_hooks = dict(checkpoint=None)
    runner = case.build_runner(cfg)
    recorder = ModeRecorder()
    runner.register_hook(recorder)
    runner.train()
    assert recorder.modes == [True] * 6  # validation (eval mode) ran after iterations 2 and 4


def test_runner_iter_reads_a_loop_subclass_own_iter(case):
    from mmengine.runner import EpochBasedTrainLoop

    class Offset(EpochBasedTrainLoop):
        @property
        def iter(self):
            return self._iter + 1000

    cfg = case.epoch_based_cfg
    cfg.train_cfg = dict(type=Offset, max_epochs=1)
    cfg.default_hooks = dict(checkpoint=None)
    runner = case.build_runner(cfg)
    runner.train()
    assert runner.iter == 1004 and runner.train_loop.iter == 1004
