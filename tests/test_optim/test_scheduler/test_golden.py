"""Hand-computed value sequences, closed forms, windows, momentum and other param-group keys."""
from __future__ import annotations

import math

import pytest
import torch

from mmengine.optim.scheduler import (
    ConstantParamScheduler,
    CosineAnnealingLR,
    CosineAnnealingParamScheduler,
    CosineRestartLR,
    CosineRestartMomentum,
    ExponentialLR,
    ExponentialMomentum,
    ExponentialParamScheduler,
    LinearLR,
    LinearParamScheduler,
    MultiStepLR,
    MultiStepParamScheduler,
    PolyLR,
    PolyParamScheduler,
    ReduceOnPlateauMomentum,
    StepMomentum,
    StepParamScheduler,
)

from ._common import FakeWrapper, adam, record, sgd, values


def _column(history: list[list], group: int = 0) -> list:
    return [row[group] for row in history]


def test_cosine_restart_golden_values() -> None:
    opt = sgd(lr=1.0, second_lr=None)
    scheduler = CosineRestartLR(opt, periods=[4, 4], restart_weights=[1, 0.5], eta_min=0.0)
    expected = [1.0, 0.8535533906, 0.5, 0.1464466094, 0.5, 0.4267766953, 0.25, 0.0732233047,
                0.0732233047, 0.0732233047]
    assert _column(record(opt, [scheduler], 10)) == pytest.approx(expected)


def test_cosine_restart_with_eta_min_and_ratio() -> None:
    expected = [1.0, 0.8681980515, 0.55, 0.2318019485, 0.5, 0.4414213562, 0.3, 0.1585786438]
    for kwargs in (dict(eta_min=0.1), dict(eta_min_ratio=0.1)):
        opt = sgd(lr=1.0, second_lr=None)
        scheduler = CosineRestartLR(opt, periods=[4, 4], restart_weights=[1, 0.5], **kwargs)
        assert _column(record(opt, [scheduler], 8)) == pytest.approx(expected), kwargs


def test_cosine_restart_momentum_and_position_helper() -> None:
    opt = sgd(momentum=0.8, second_lr=None)
    scheduler = CosineRestartMomentum(opt, periods=[2], eta_min=0.0)
    history = record(opt, [scheduler], 3, key='momentum')
    assert _column(history) == pytest.approx([0.8, 0.4, 0.4])
    position = CosineRestartLR.get_position_from_periods
    assert [position(i, [2, 5]) for i in range(6)] == [0, 0, 1, 1, 1, None]


def test_poly_with_eta_min_golden_values() -> None:
    opt = sgd(lr=1.0, second_lr=None)
    scheduler = PolyLR(opt, eta_min=0.1, power=2.0, end=5)
    expected = [1.0, 0.60625, 0.325, 0.15625, 0.1, 0.1, 0.1]
    assert _column(record(opt, [scheduler], 7)) == pytest.approx(expected)


def test_cosine_annealing_eta_min_ratio_reaches_ratio_of_each_group() -> None:
    opt = sgd(lr=0.4, second_lr=0.2)
    scheduler = CosineAnnealingLR(opt, T_max=4, eta_min_ratio=0.25)
    history = record(opt, [scheduler], 5)
    assert history[4] == pytest.approx([0.1, 0.05])
    assert history[2] == pytest.approx([0.25, 0.125])


CLOSED_FORMS = {
    'step': lambda o: StepParamScheduler(o, 'lr', step_size=2, gamma=0.3),
    'multistep': lambda o: MultiStepParamScheduler(o, 'lr', milestones=[1, 4, 4], gamma=0.5),
    'constant': lambda o: ConstantParamScheduler(o, 'lr', factor=0.25, end=4),
    'exponential': lambda o: ExponentialParamScheduler(o, 'lr', gamma=0.8),
    'cosine': lambda o: CosineAnnealingParamScheduler(o, 'lr', T_max=5, eta_min=0.002),
    'linear': lambda o: LinearParamScheduler(o, 'lr', start_factor=0.1, end=6),
    'poly': lambda o: PolyParamScheduler(o, 'lr', eta_min=0.001, power=0.5, end=6),
}


@pytest.mark.parametrize('name', sorted(CLOSED_FORMS))
def test_recursive_values_follow_the_closed_form(name: str) -> None:
    opt = sgd()
    scheduler = CLOSED_FORMS[name](opt)
    for _ in range(9):
        if scheduler.last_step < scheduler.end - scheduler.begin:
            assert values(opt) == pytest.approx(scheduler._get_closed_form()), name
        scheduler.step()


def test_begin_end_window_keeps_values_outside() -> None:
    opt = sgd(lr=1.0, second_lr=None)
    scheduler = ExponentialLR(opt, gamma=0.5, begin=2, end=5)
    assert _column(record(opt, [scheduler], 8)) == [1.0, 1.0, 1.0, 0.5, 0.25, 0.25, 0.25, 0.25]
    assert scheduler.last_step == 2  # steps 2, 3, 4 of the window


def test_gap_between_schedulers_keeps_the_value() -> None:
    opt = sgd(lr=1.0, second_lr=None)
    warmup = LinearLR(opt, start_factor=0.5, end=3)
    decay = ExponentialLR(opt, gamma=0.5, begin=5)
    expected = [0.5, 0.75, 1.0, 1.0, 1.0, 1.0, 0.5, 0.25]
    assert _column(record(opt, [warmup, decay], 8)) == pytest.approx(expected)


def test_tutorial_warmup_then_multistep_with_mixed_units() -> None:
    """LinearLR per iteration over [0, 50) and MultiStepLR([8, 11]) per epoch (seed 6.1.2)."""
    opt = sgd(lr=0.1, second_lr=None)
    warmup = LinearLR(opt, start_factor=0.001, by_epoch=False, begin=0, end=50)
    main = MultiStepLR(opt, by_epoch=True, milestones=[8, 11], gamma=0.1)
    epoch_length, seen = 10, []
    for _ in range(13):
        for _ in range(epoch_length):
            seen.append(values(opt)[0])
            warmup.step()
        main.step()
    warmup_expected = [0.1 * (0.001 + 0.999 * i / 49) for i in range(50)]
    assert seen[:50] == pytest.approx(warmup_expected)
    assert seen[50:80] == pytest.approx([0.1] * 30)
    assert seen[80:110] == pytest.approx([0.01] * 30)
    assert seen[110:] == pytest.approx([0.001] * 20)


def test_tutorial_linear_warmup_then_cosine_window() -> None:
    opt = sgd(lr=0.1, second_lr=None)
    schedulers = [LinearLR(opt, start_factor=0.001, by_epoch=False, begin=0, end=100),
                  CosineAnnealingLR(opt, T_max=800, by_epoch=False, begin=100, end=900)]
    seen = _column(record(opt, schedulers, 950))
    assert seen[0] == pytest.approx(1e-4)
    assert seen[99] == pytest.approx(0.1)
    cosine = [0.05 * (1 + math.cos(math.pi * (i - 100) / 800)) for i in range(100, 900)]
    assert seen[100:900] == pytest.approx(cosine)
    assert seen[900:] == pytest.approx([seen[899]] * 50)


def test_momentum_scheduler_on_sgd() -> None:
    opt = sgd(momentum=0.9)
    scheduler = StepMomentum(opt, step_size=2, gamma=0.5)
    history = record(opt, [scheduler], 5, key='momentum')
    assert _column(history, 0) == pytest.approx([0.9, 0.9, 0.45, 0.45, 0.225])
    assert opt.param_groups[0]['initial_momentum'] == 0.9
    assert values(opt) == pytest.approx([0.05, 0.01])  # lr untouched


@pytest.mark.parametrize('wrap', [False, True])
def test_momentum_scheduler_drives_adam_betas(wrap: bool) -> None:
    opt = adam(betas=(0.9, 0.999))
    scheduler = ExponentialMomentum(FakeWrapper(opt) if wrap else opt, gamma=0.5)
    betas = []
    for _ in range(3):
        betas.append(opt.param_groups[0]['betas'])
        scheduler.step()
    assert [b[0] for b in betas] == pytest.approx([0.9, 0.45, 0.225])
    assert [b[1] for b in betas] == [0.999] * 3
    assert isinstance(betas[-1], tuple)
    param = opt.param_groups[0]['params'][0]
    param.grad = torch.ones_like(param)
    opt.step()  # Adam accepts the updated betas


def test_reduce_on_plateau_momentum_syncs_betas() -> None:
    opt = adam(betas=(0.8, 0.99))
    scheduler = ReduceOnPlateauMomentum(opt, factor=0.5, patience=0)
    scheduler.step({'loss': 1.0})
    scheduler.step({'loss': 2.0})
    assert opt.param_groups[0]['betas'] == pytest.approx((0.4, 0.99))


def test_momentum_needs_an_optimizer_with_momentum() -> None:
    opt = torch.optim.Adagrad(torch.nn.Linear(1, 1).parameters())
    with pytest.raises(ValueError, match='momentum or betas'):
        StepMomentum(opt, step_size=1)


def test_param_name_weight_decay() -> None:
    opt = sgd(weight_decay=0.01, second_lr=None)
    scheduler = LinearParamScheduler(opt, param_name='weight_decay', start_factor=0.1,
                                     by_epoch=False, begin=0, end=5)
    history = record(opt, [scheduler], 7, key='weight_decay')
    assert _column(history) == pytest.approx([0.001, 0.00325, 0.0055, 0.00775, 0.01, 0.01,
                                              0.01])
    assert opt.param_groups[0]['initial_weight_decay'] == 0.01
    assert values(opt) == [0.05]


def test_optimizer_wrapper_duck_type_and_last_value() -> None:
    opt = sgd()
    scheduler = MultiStepLR(FakeWrapper(opt), milestones=[1], gamma=0.1)
    scheduler.step()
    assert values(opt) == pytest.approx([0.005, 0.001])
    assert scheduler.get_last_value() == values(opt)
    assert 'optimizer' not in scheduler.state_dict()


def test_real_optim_wrapper_when_available() -> None:
    optim = pytest.importorskip('mmengine.optim')
    if not hasattr(optim, 'OptimWrapper'):
        pytest.skip('OptimWrapper is not written yet')
    wrapper = optim.OptimWrapper(sgd())
    scheduler = StepMomentum(wrapper, step_size=1, gamma=0.5)
    scheduler.step()
    assert wrapper.get_momentum()['momentum'] == pytest.approx([0.45, 0.45])
