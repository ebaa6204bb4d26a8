"""Bad arguments fail early with errors that name the argument and the received value."""
from __future__ import annotations

import pytest

from mmengine.optim.scheduler import (
    ConstantLR,
    CosineAnnealingLR,
    CosineRestartLR,
    ExponentialLR,
    LinearLR,
    MultiStepLR,
    OneCycleLR,
    StepLR,
    StepParamScheduler,
)

from ._common import sgd


def test_optimizer_must_be_an_optimizer_or_wrapper() -> None:
    with pytest.raises(TypeError, match='got dict'):
        StepLR({'lr': 0.1}, step_size=1)


@pytest.mark.parametrize('factory,error,match', [
    (lambda o: StepLR(o, step_size=1, begin=3, end=3), ValueError, 'begin=3, end=3'),
    (lambda o: StepLR(o, step_size=1, begin='0'), TypeError, 'numbers of epochs'),
    (lambda o: StepLR(o, step_size=1, last_step=-2), ValueError, 'last_step'),
    (lambda o: StepLR(o, step_size=1, by_epoch='yes'), TypeError, 'by_epoch'),
    (lambda o: StepLR(o, step_size=0), ValueError, 'step_size'),
    (lambda o: MultiStepLR(o, milestones=[1.5]), ValueError, 'milestones'),
    (lambda o: ConstantLR(o, factor=1.5), ValueError, 'factor'),
    (lambda o: ConstantLR(o, factor=0), ValueError, 'factor'),
    (lambda o: LinearLR(o, start_factor=0, end=4), ValueError, 'start_factor'),
    (lambda o: LinearLR(o, end_factor=1.2, end=4), ValueError, 'end_factor'),
    (lambda o: ExponentialLR(o, gamma=-1), ValueError, 'gamma'),
    (lambda o: CosineAnnealingLR(o, T_max=5, eta_min=0.1, eta_min_ratio=0.1), ValueError,
     'not both'),
    (lambda o: CosineAnnealingLR(o), ValueError, 'T_max or a finite end'),
    (lambda o: CosineRestartLR(o, periods=[2, 3], restart_weights=[1]), ValueError,
     'one weight per period'),
    (lambda o: CosineRestartLR(o, periods=[0]), ValueError, 'periods'),
    (lambda o: OneCycleLR(o, eta_max=0.1), ValueError, 'total_steps or a finite end'),
    (lambda o: OneCycleLR(o, eta_max=0.1, total_steps=0), ValueError, 'total_steps'),
    (lambda o: OneCycleLR(o, eta_max=0.1, total_steps=5, pct_start=1.5), ValueError,
     'pct_start'),
    (lambda o: OneCycleLR(o, eta_max=0.1, total_steps=5, anneal_strategy='exp'), ValueError,
     'anneal_strategy'),
    (lambda o: OneCycleLR(o, eta_max=[0.1], total_steps=5), ValueError, 'param groups'),
    (lambda o: StepParamScheduler(o, 'betas2', step_size=1), KeyError, 'betas2'),
    (lambda o: StepLR(o, step_size=1, last_step=3), KeyError, 'initial_lr'),
])
def test_bad_arguments(factory, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        factory(sgd())


def test_one_cycle_refuses_to_step_past_its_cycle() -> None:
    opt = sgd()
    scheduler = OneCycleLR(opt, eta_max=0.1, total_steps=3)
    for _ in range(3):
        scheduler.step()
    with pytest.raises(ValueError, match='total_steps=3'):
        scheduler.step()


def test_one_cycle_window_stops_it_in_time() -> None:
    opt = sgd()
    scheduler = OneCycleLR(opt, eta_max=0.1, total_steps=3, end=3)
    for _ in range(6):
        scheduler.step()
    assert opt.param_groups[0]['lr'] == pytest.approx(0.1 / 25 / 1e4)


def test_resume_with_last_step_continues_from_initial_values() -> None:
    opt = sgd(lr=1.0, second_lr=None)
    StepLR(opt, step_size=2, gamma=0.5)
    opt.param_groups[0]['lr'] = 0.5  # as if restored at step 3
    scheduler = StepLR(opt, step_size=2, gamma=0.5, last_step=2)
    assert scheduler.last_step == 3 and scheduler.base_values == [1.0]
    scheduler.step()
    assert opt.param_groups[0]['lr'] == pytest.approx(0.25)


def test_load_state_dict_needs_a_dict() -> None:
    with pytest.raises(TypeError, match='needs a dict'):
        StepLR(sgd(), step_size=1).load_state_dict([1, 2])


def test_verbose_logs_each_change() -> None:
    logging = pytest.importorskip('mmengine.logging')
    if not hasattr(logging, 'print_log'):
        pytest.skip('mmengine.logging.print_log is not written yet')
    scheduler = StepLR(sgd(), step_size=1, gamma=0.5, verbose=True)
    scheduler.step()  # the real print_value runs without error
    messages = []
    scheduler.print_value = lambda verbose, group, value: messages.append((verbose, group, value))
    scheduler.step()
    assert messages == [(True, 0, pytest.approx(0.0125)), (True, 1, pytest.approx(0.0025))]
