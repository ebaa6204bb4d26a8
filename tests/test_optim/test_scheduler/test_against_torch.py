"""Every schedule torch also defines gives torch's values, step by step."""
from __future__ import annotations

import warnings

import pytest
import torch
from torch.optim import lr_scheduler as tls

from mmengine.optim.scheduler import (
    ConstantLR,
    CosineAnnealingLR,
    ExponentialLR,
    LinearLR,
    MultiStepLR,
    OneCycleLR,
    PolyLR,
    ReduceOnPlateauLR,
    StepLR,
)

from ._common import sgd, values

# name -> (ours, torch's, steps); the window end = torch's total_iters + 1.
CASES = {
    'step': (lambda o: StepLR(o, step_size=3, gamma=0.5),
             lambda o: tls.StepLR(o, step_size=3, gamma=0.5), 12),
    'multistep': (lambda o: MultiStepLR(o, milestones=[2, 5, 5, 9], gamma=0.1),
                  lambda o: tls.MultiStepLR(o, milestones=[2, 5, 5, 9], gamma=0.1), 12),
    'exponential': (lambda o: ExponentialLR(o, gamma=0.9),
                    lambda o: tls.ExponentialLR(o, gamma=0.9), 12),
    'cosine': (lambda o: CosineAnnealingLR(o, T_max=6, eta_min=0.001),
               lambda o: tls.CosineAnnealingLR(o, T_max=6, eta_min=0.001), 25),
    'linear': (lambda o: LinearLR(o, start_factor=0.25, end_factor=0.75, end=6),
               lambda o: tls.LinearLR(o, start_factor=0.25, end_factor=0.75, total_iters=5),
               10),
    'constant': (lambda o: ConstantLR(o, factor=0.5, end=5),
                 lambda o: tls.ConstantLR(o, factor=0.5, total_iters=4), 8),
    'poly': (lambda o: PolyLR(o, power=2.0, eta_min=0, end=7),
             lambda o: tls.PolynomialLR(o, total_iters=6, power=2.0), 10),
    'onecycle_cos': (lambda o: OneCycleLR(o, eta_max=0.1, total_steps=20),
                     lambda o: tls.OneCycleLR(o, max_lr=0.1, total_steps=20,
                                              cycle_momentum=False), 20),
    'onecycle_linear': (
        lambda o: OneCycleLR(o, eta_max=[0.1, 0.2], total_steps=15, pct_start=0.4,
                             anneal_strategy='linear', div_factor=10, final_div_factor=100),
        lambda o: tls.OneCycleLR(o, max_lr=[0.1, 0.2], total_steps=15, pct_start=0.4,
                                 anneal_strategy='linear', div_factor=10,
                                 final_div_factor=100, cycle_momentum=False), 15),
    'onecycle_three_phase': (
        lambda o: OneCycleLR(o, eta_max=0.1, total_steps=20, three_phase=True),
        lambda o: tls.OneCycleLR(o, max_lr=0.1, total_steps=20, three_phase=True,
                                 cycle_momentum=False), 20),
}


@pytest.mark.parametrize('name', sorted(CASES))
def test_matches_torch_step_by_step(name: str) -> None:
    ours_factory, torch_factory, steps = CASES[name]
    ours_opt, torch_opt = sgd(), sgd()
    ours, theirs = ours_factory(ours_opt), torch_factory(torch_opt)
    for step in range(steps):
        assert values(ours_opt) == pytest.approx(values(torch_opt), rel=1e-9, abs=1e-15), step
        assert ours.get_last_value() == values(ours_opt)
        torch_opt.step()  # keeps torch from warning about the order of the calls
        ours.step()
        theirs.step()


def test_overlapping_schedulers_chain_like_torch_chained_scheduler() -> None:
    ours_opt, torch_opt = sgd(), sgd()
    ours = [ExponentialLR(ours_opt, gamma=0.9), StepLR(ours_opt, step_size=3, gamma=0.5)]
    theirs = tls.ChainedScheduler([tls.ExponentialLR(torch_opt, gamma=0.9),
                                   tls.StepLR(torch_opt, step_size=3, gamma=0.5)])
    for _ in range(10):
        assert values(ours_opt) == pytest.approx(values(torch_opt))
        torch_opt.step()
        for scheduler in ours:
            scheduler.step()
        theirs.step()


@pytest.mark.parametrize('mode,threshold_mode', [('min', 'rel'), ('max', 'abs')])
def test_reduce_on_plateau_matches_torch(mode: str, threshold_mode: str) -> None:
    metrics = [1.0, 0.9, 0.95, 0.95, 0.95, 0.95, 0.8, 0.85, 0.85, 0.85, 0.85, 0.85, 0.85, 0.9,
               0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2]
    if mode == 'max':
        metrics = [-m for m in metrics]
    ours_opt, torch_opt = sgd(), sgd()
    rule = 'less' if mode == 'min' else 'greater'
    ours = ReduceOnPlateauLR(ours_opt, monitor='acc', rule=rule, factor=0.5, patience=2,
                             threshold=0.01, threshold_rule=threshold_mode, cooldown=1,
                             min_value=[0.01, 0.004])
    theirs = tls.ReduceLROnPlateau(torch_opt, mode=mode, factor=0.5, patience=2,
                                   threshold=0.01, threshold_mode=threshold_mode, cooldown=1,
                                   min_lr=[0.01, 0.004])
    seen = set()
    for metric in metrics:
        ours.step()  # the epoch count; values only change with metrics
        ours.step({'acc': torch.tensor(metric)})
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            theirs.step(metric)
        assert values(ours_opt) == pytest.approx(values(torch_opt))
        seen.add(tuple(values(ours_opt)))
    assert len(seen) >= 3, 'the metric sequence must trigger several reductions'
    assert values(ours_opt) == pytest.approx([0.01, 0.004])  # clipped at min_value
