"""Averaged models: EMA / annealed EMA / SWA numerics, interval, buffers, state dict."""
from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from mmengine.model import ExponentialMovingAverage, MomentumAnnealingEMA, StochasticWeightAverage
from mmengine.registry import MODELS


def _model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))


def _perturb(model: nn.Module, step: int) -> None:
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.1 * (step + 1))
        model[1].running_mean.add_(1.0)


def test_registered_in_models():
    for name in ['ExponentialMovingAverage', 'MomentumAnnealingEMA', 'StochasticWeightAverage']:
        assert MODELS.get(name) is not None


def test_ema_matches_formula_and_copies_buffers():
    model = _model()
    ema = ExponentialMovingAverage(model, momentum=0.1)
    assert all(not p.requires_grad for p in ema.parameters())
    expected = None
    for step in range(4):
        _perturb(model, step)
        ema.update_parameters(model)
        current = [p.detach().clone() for p in model.parameters()]
        if expected is None:  # the first update copies the weights
            expected = current
        else:
            expected = [(1 - 0.1) * e + 0.1 * c for e, c in zip(expected, current)]
        for avg, exp in zip(ema.module.parameters(), expected):
            assert torch.allclose(avg, exp, atol=1e-6)
        # buffers follow the source when update_buffers=False
        assert torch.equal(ema.module[1].running_mean, model[1].running_mean)
    assert int(ema.steps) == 4
    x = torch.randn(4, 3)
    ema.eval()
    assert ema(x).shape == (4, 2)


def test_ema_interval_and_update_buffers():
    model = _model()
    ema = ExponentialMovingAverage(model, momentum=0.5, interval=2, update_buffers=True)
    _perturb(model, 0)
    ema.update_parameters(model)   # step 0: copy
    first = model[0].weight.detach().clone()
    first_mean = model[1].running_mean.clone()
    _perturb(model, 1)
    ema.update_parameters(model)   # step 1: skipped (1 % 2 != 0)
    assert torch.allclose(ema.module[0].weight, first)
    assert torch.allclose(ema.module[1].running_mean, first_mean)
    _perturb(model, 2)
    ema.update_parameters(model)   # step 2: averaged, buffers included
    assert torch.allclose(ema.module[0].weight, 0.5 * first + 0.5 * model[0].weight)
    assert torch.allclose(ema.module[1].running_mean,
                          0.5 * first_mean + 0.5 * model[1].running_mean)


def test_ema_state_dict_round_trip_resumes_step_count():
    model = _model()
    ema = ExponentialMovingAverage(model, momentum=0.2, interval=2)
    for step in range(3):
        _perturb(model, step)
        ema.update_parameters(model)
    state = ema.state_dict()
    assert int(state['steps']) == 3 and 'module.0.weight' in state
    restored = ExponentialMovingAverage(_model(), momentum=0.2, interval=2)
    restored.load_state_dict(state)
    assert torch.equal(restored.module[0].weight, ema.module[0].weight)
    _perturb(model, 3)
    ema.update_parameters(model)       # step 3: skipped by the interval
    restored.update_parameters(model)  # must skip too (not copy as a fresh step 0)
    assert torch.equal(restored.module[0].weight, ema.module[0].weight)
    _perturb(model, 4)
    ema.update_parameters(model)
    restored.update_parameters(model)
    assert torch.allclose(restored.module[0].weight, ema.module[0].weight)


def test_ema_validates_momentum():
    with pytest.raises(ValueError, match='momentum'):
        ExponentialMovingAverage(_model(), momentum=1.5)
    with pytest.raises(ValueError, match='gamma'):
        MomentumAnnealingEMA(_model(), gamma=0)


def test_momentum_annealing_ema():
    model = _model()
    ema = MomentumAnnealingEMA(model, momentum=0.01, gamma=4)
    ema.update_parameters(model)  # copy
    expected = model[0].weight.detach().clone()
    for step in range(1, 6):
        _perturb(model, step)
        ema.update_parameters(model)
        momentum = max(0.01, 4 / (4 + step))
        expected = (1 - momentum) * expected + momentum * model[0].weight
        assert torch.allclose(ema.module[0].weight, expected, atol=1e-6)


def test_stochastic_weight_average_is_running_mean():
    model = _model()
    swa = StochasticWeightAverage(model)
    seen = []
    for step in range(5):
        _perturb(model, step)
        swa.update_parameters(model)
        seen.append(model[0].weight.detach().clone())
        assert torch.allclose(swa.module[0].weight, torch.stack(seen).mean(0), atol=1e-6)
