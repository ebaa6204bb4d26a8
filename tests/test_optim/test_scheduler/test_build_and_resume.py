"""Building from configs, epoch-to-iteration conversion, state dicts and resuming."""
from __future__ import annotations

import math

import pytest
import torch

import mmengine.optim.scheduler as schedulers
from mmengine.optim.scheduler import (
    CosineAnnealingLR,
    LinearLR,
    MultiStepLR,
    ReduceOnPlateauLR,
    _ParamScheduler,
)
from mmengine.registry import PARAM_SCHEDULERS

from ._common import adam, record, sgd, values


def _build(cfg: dict, optimizer, epoch_length: int | None = None):
    default_args = dict(optimizer=optimizer)
    if epoch_length is not None:
        default_args['epoch_length'] = epoch_length
    return PARAM_SCHEDULERS.build(cfg, default_args=default_args)


def test_every_public_scheduler_is_registered() -> None:
    names = [n for n in schedulers.__all__ if n != '_ParamScheduler']
    assert len(names) == 29
    for name in names:
        assert PARAM_SCHEDULERS.get(name) is getattr(schedulers, name), name


def test_convert_multistep_to_iterations() -> None:
    opt = sgd(lr=1.0, second_lr=None)
    scheduler = _build(dict(type='MultiStepLR', by_epoch=True, milestones=[2, 3], gamma=0.1,
                            convert_to_iter_based=True), opt, epoch_length=4)
    assert scheduler.by_epoch is False
    seen = [row[0] for row in record(opt, [scheduler], 14)]
    assert seen == pytest.approx([1.0] * 8 + [0.1] * 4 + [0.01] * 2)


def test_without_conversion_epoch_length_is_ignored() -> None:
    opt = sgd()
    scheduler = _build(dict(type='MultiStepLR', milestones=[2]), opt, epoch_length=4)
    assert scheduler.by_epoch is True and scheduler.milestones == {2: 1}


def test_converted_cosine_is_smooth_and_meets_the_epoch_schedule() -> None:
    epoch_opt, iter_opt = sgd(lr=1.0, second_lr=None), sgd(lr=1.0, second_lr=None)
    by_epoch = _build(dict(type='CosineAnnealingLR', by_epoch=True, T_max=3), epoch_opt)
    by_iter = _build(dict(type='CosineAnnealingLR', by_epoch=True, T_max=3,
                          convert_to_iter_based=True), iter_opt, epoch_length=5)
    assert by_iter.T_max == 15
    epoch_values = [row[0] for row in record(epoch_opt, [by_epoch], 4)]
    iter_values = [row[0] for row in record(iter_opt, [by_iter], 16)]
    assert iter_values[::5] == pytest.approx(epoch_values)
    assert all(a > b for a, b in zip(iter_values, iter_values[1:]))


@pytest.mark.parametrize('cfg,attrs', [
    (dict(type='StepLR', step_size=2, begin=1, end=4), dict(step_size=8, begin=4, end=16)),
    (dict(type='LinearLR', start_factor=0.5, end=2), dict(end=8, total_iters=7)),
    (dict(type='CosineRestartLR', periods=[1, 2], restart_weights=[1, 1]),
     dict(periods=[4, 8], cumulative_periods=[4, 12])),
    (dict(type='OneCycleLR', eta_max=0.1, total_steps=3), dict(total_steps=12)),
    (dict(type='PolyLR', eta_min=0.0, end=3), dict(end=12, total_iters=11)),
    (dict(type='ConstantLR', factor=0.5, begin=1, end=2), dict(begin=4, end=8)),
])
def test_convert_scales_every_epoch_setting(cfg: dict, attrs: dict) -> None:
    scheduler = _build(dict(cfg, convert_to_iter_based=True), sgd(), epoch_length=4)
    assert scheduler.by_epoch is False
    for key, value in attrs.items():
        assert getattr(scheduler, key) == value, key


def test_converted_exponential_meets_the_epoch_schedule() -> None:
    opt = sgd(lr=1.0, second_lr=None)
    scheduler = _build(dict(type='ExponentialLR', gamma=0.5, convert_to_iter_based=True), opt,
                       epoch_length=4)
    seen = [row[0] for row in record(opt, [scheduler], 9)]
    assert seen[4] == pytest.approx(0.5) and seen[8] == pytest.approx(0.25)
    assert seen[1] == pytest.approx(0.5**0.25)


def test_build_iter_from_epoch_rejects_bad_arguments() -> None:
    opt = sgd()
    with pytest.raises(ValueError, match='by_epoch=False'):
        MultiStepLR.build_iter_from_epoch(opt, milestones=[1], by_epoch=False, epoch_length=2)
    with pytest.raises(ValueError, match='epoch_length'):
        MultiStepLR.build_iter_from_epoch(opt, milestones=[1], epoch_length=0)
    with pytest.raises(ValueError, match='epoch_length'):
        _build(dict(type='MultiStepLR', milestones=[1], convert_to_iter_based=True), opt)


def test_tutorial_configs_build() -> None:
    """The param_scheduler configs and calls of seed section 6."""
    model = torch.nn.Linear(1, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    param_scheduler = MultiStepLR(optimizer, milestones=[8, 11], gamma=0.1)
    assert param_scheduler.milestones == {8: 1, 11: 1}
    built = MultiStepLR.build_iter_from_epoch(optimizer, milestones=[8, 11], gamma=0.1,
                                              epoch_length=20)
    assert built.milestones == {160: 1, 220: 1} and not built.by_epoch
    configs = [
        dict(type='MultiStepLR', by_epoch=True, milestones=[8, 11], gamma=0.1),
        dict(type='MultiStepLR', by_epoch=False, milestones=[600, 800], gamma=0.1),
        dict(type='MultiStepLR', by_epoch=True, milestones=[8, 11], gamma=0.1,
             convert_to_iter_based=True),
        dict(type='CosineAnnealingLR', by_epoch=True, T_max=12),
        dict(type='CosineAnnealingLR', by_epoch=True, T_max=12, convert_to_iter_based=True),
        dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=50),
        dict(type='CosineAnnealingLR', T_max=800, by_epoch=False, begin=100, end=900),
        dict(type='LinearMomentum', start_factor=0.001, by_epoch=False, begin=0, end=1000),
        dict(type='LinearParamScheduler', param_name='lr', start_factor=0.001, by_epoch=False,
             begin=0, end=1000),
        dict(type='LinearParamScheduler', param_name='weight_decay', start_factor=0.001,
             by_epoch=False, begin=0, end=1000),
    ]
    for cfg in configs:
        opt = sgd(weight_decay=0.01)
        assert isinstance(_build(cfg, opt, epoch_length=20), _ParamScheduler), cfg


# name -> factory; every family, to check that state dicts are plain data and resume exactly.
FAMILIES = {
    'step': lambda o: [schedulers.StepLR(o, step_size=2, gamma=0.5)],
    'multistep': lambda o: [schedulers.MultiStepLR(o, milestones=[3, 6, 6])],
    'constant': lambda o: [schedulers.ConstantLR(o, factor=0.5, end=7)],
    'exponential': lambda o: [schedulers.ExponentialLR(o, gamma=0.9)],
    'cosine': lambda o: [schedulers.CosineAnnealingLR(o, T_max=5, eta_min_ratio=0.1)],
    'poly': lambda o: [schedulers.PolyLR(o, eta_min=0.001, power=2, end=10)],
    'onecycle': lambda o: [schedulers.OneCycleLR(o, eta_max=0.1, total_steps=12,
                                                 three_phase=True)],
    'restart': lambda o: [schedulers.CosineRestartLR(o, periods=[3, 4], restart_weights=[1, .5],
                                                     eta_min=0.001)],
    'warmup_chain': lambda o: [LinearLR(o, start_factor=0.1, end=4),
                               MultiStepLR(o, milestones=[2, 7], gamma=0.5),
                               schedulers.CosineAnnealingParamScheduler(
                                   o, 'weight_decay', T_max=6, begin=3, end=9)],
    'momentum': lambda o: [schedulers.CosineAnnealingMomentum(o, T_max=8),
                           schedulers.PolyMomentum(o, power=1.0, begin=2, end=11),
                           schedulers.StepParamScheduler(o, 'weight_decay', step_size=3)],
}


def _run(make_opt, factory, steps: int, resume_at: int | None, path) -> list:
    """Record lr, momentum and weight decay per step, optionally saving and resuming."""
    opt = make_opt()
    scheds = factory(opt)
    seen = []
    for step in range(steps):
        if step == resume_at:
            torch.save({'optimizer': opt.state_dict(),
                        'schedulers': [s.state_dict() for s in scheds]}, path)
            opt = make_opt()
            scheds = factory(opt)  # fresh objects, as a new process would build them
            state = torch.load(path, weights_only=True)
            opt.load_state_dict(state['optimizer'])
            for scheduler, sched_state in zip(scheds, state['schedulers']):
                scheduler.load_state_dict(sched_state)
        group = opt.param_groups[0]
        seen.append((group['lr'], group.get('momentum'), group.get('betas'),
                     group['weight_decay']))
        for scheduler in scheds:
            scheduler.step()
    return seen


@pytest.mark.parametrize('name', sorted(FAMILIES))
def test_resume_mid_schedule_equals_uninterrupted(name: str, tmp_path) -> None:
    def make_opt():
        return sgd(weight_decay=0.1)
    uninterrupted = _run(make_opt, FAMILIES[name], 12, None, tmp_path / 'ckpt.pth')
    resumed = _run(make_opt, FAMILIES[name], 12, 5, tmp_path / 'ckpt.pth')
    assert resumed == uninterrupted
    assert len({row[:2] + row[3:] for row in uninterrupted[5:]}) >= 2, 'the schedule must move'


def test_resume_momentum_schedule_on_adam(tmp_path) -> None:
    def factory(o):
        return [schedulers.ExponentialMomentum(o, gamma=0.9)]
    uninterrupted = _run(adam, factory, 8, None, tmp_path / 'ckpt.pth')
    resumed = _run(adam, factory, 8, 3, tmp_path / 'ckpt.pth')
    assert resumed == uninterrupted
    assert uninterrupted[-1][2] == pytest.approx((0.9 * 0.9**7, 0.999))


def test_reduce_on_plateau_state_round_trip(tmp_path) -> None:
    opt = sgd()
    scheduler = ReduceOnPlateauLR(opt, patience=1, factor=0.5)
    for loss in (1.0, 1.0, 1.0):
        scheduler.step()
        scheduler.step(dict(loss=loss))
    torch.save(scheduler.state_dict(), tmp_path / 's.pth')
    other = ReduceOnPlateauLR(sgd(), patience=1, factor=0.5)
    other.load_state_dict(torch.load(tmp_path / 's.pth', weights_only=True))
    assert other.best == 1.0 and other.num_bad_epochs == scheduler.num_bad_epochs
    assert other._global_step == 3
    assert values(opt) == pytest.approx([0.025, 0.005])


def test_reduce_on_plateau_bad_input() -> None:
    scheduler = ReduceOnPlateauLR(sgd(), monitor='acc')
    with pytest.raises(TypeError, match='metrics dict'):
        scheduler.step(0.5)
    with pytest.raises(KeyError, match="'acc'"):
        scheduler.step({'loss': 1.0})
    with pytest.raises(ValueError, match='factor'):
        ReduceOnPlateauLR(sgd(), factor=1.0)
    with pytest.raises(ValueError, match='rule'):
        ReduceOnPlateauLR(sgd(), rule='max')
    with pytest.raises(ValueError, match='param groups'):
        ReduceOnPlateauLR(sgd(), min_value=[0.1])
    assert ReduceOnPlateauLR.need_val_args is True


def test_state_dict_is_plain_and_excludes_the_optimizer() -> None:
    for name, factory in FAMILIES.items():
        for scheduler in factory(sgd(weight_decay=0.1)):
            state = scheduler.state_dict()
            assert 'optimizer' not in state, name
            assert not any(callable(v) for v in state.values()), name


def test_cosine_value_at_the_bottom_matches_closed_form() -> None:
    opt = sgd(lr=1.0, second_lr=None)
    scheduler = CosineAnnealingLR(opt, T_max=2, eta_min=0.2)
    seen = [row[0] for row in record(opt, [scheduler], 6)]
    expected = [0.2 + 0.8 * (1 + math.cos(math.pi * t / 2)) / 2 for t in range(6)]
    assert seen == pytest.approx(expected)
