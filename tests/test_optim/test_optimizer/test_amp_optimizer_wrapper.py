"""AmpOptimWrapper on CPU: autocast, GradScaler overflow handling, bf16 without scaler."""
from __future__ import annotations

import pytest
import torch
import torch.nn as nn
from torch.optim import SGD

from mmengine.logging import MessageHub
from mmengine.optim import AmpOptimWrapper


def _wrapper(model: nn.Module, **kwargs) -> AmpOptimWrapper:
    return AmpOptimWrapper(optimizer=SGD(model.parameters(), lr=0.1), **kwargs)


def test_default_has_dynamic_scaler_and_its_state():
    wrapper = _wrapper(nn.Linear(1, 1))
    assert isinstance(wrapper.loss_scaler, torch.amp.GradScaler)
    assert wrapper.state_dict()['loss_scaler'] == {
        'scale': 65536.0, 'growth_factor': 2.0, 'backoff_factor': 0.5,
        'growth_interval': 2000, '_growth_tracker': 0}


def test_fp16_overflow_skips_step_and_backs_off_scale():
    model = nn.Linear(2, 1)
    wrapper = _wrapper(model, dtype='float16')
    before = [p.detach().clone() for p in model.parameters()]
    with wrapper.optim_context(model):
        out = model(torch.ones(1, 2))
    assert out.dtype == torch.float16
    wrapper.update_params(out.float().sum() * float('inf'))
    for old, new in zip(before, model.parameters()):
        torch.testing.assert_close(old, new)  # the step was skipped
    assert wrapper.loss_scaler.get_scale() == 32768.0
    with wrapper.optim_context(model):
        out = model(torch.ones(1, 2))
    wrapper.update_params(out.float().sum())
    # d(sum)/dw = 1 for each weight: plain SGD step of lr * 1 after unscaling
    torch.testing.assert_close(model.weight, before[0] - 0.1, atol=1e-3, rtol=0)
    assert all(p.grad is None for p in model.parameters())


def test_fixed_loss_scale_never_changes():
    model = nn.Linear(1, 1)
    wrapper = _wrapper(model, loss_scale=512.)
    wrapper.update_params(model(torch.ones(1, 1)).sum() * float('inf'))
    wrapper.update_params(model(torch.ones(1, 1)).sum())
    assert wrapper.loss_scaler.get_scale() == 512.0


def test_dict_loss_scale_configures_grad_scaler():
    model = nn.Linear(1, 1)
    wrapper = _wrapper(model, loss_scale=dict(init_scale=1024., growth_interval=1))
    wrapper.update_params(model(torch.ones(1, 1)).sum())
    assert wrapper.loss_scaler.get_scale() == 2048.0


def test_bad_loss_scale_and_dtype_are_rejected():
    with pytest.raises(TypeError, match='loss_scale'):
        _wrapper(nn.Linear(1, 1), loss_scale='static')
    with pytest.raises(ValueError, match='dtype must be None or one of'):
        _wrapper(nn.Linear(1, 1), dtype='int8')


def test_bf16_runs_under_cpu_autocast_without_scaler():
    model = nn.Linear(2, 1)
    wrapper = _wrapper(model, dtype='bfloat16')
    assert wrapper.loss_scaler is None and wrapper.cast_dtype is torch.bfloat16
    assert 'loss_scaler' not in wrapper.state_dict()
    with pytest.warns(UserWarning, match='loss_scale=512.0 is ignored'):
        _wrapper(model, dtype='bfloat16', loss_scale=512.)
    before = model.weight.detach().clone()
    with wrapper.optim_context(model):
        out = model(torch.ones(1, 2))
    assert out.dtype == torch.bfloat16
    wrapper.update_params(out.float().sum())
    torch.testing.assert_close(model.weight, before - 0.1)
    assert model.weight.dtype == torch.float32


def test_torch_dtype_accepted_and_float32_disables_autocast():
    model = nn.Linear(2, 1)
    assert _wrapper(model, dtype=torch.float16).cast_dtype is torch.float16
    wrapper = _wrapper(model, dtype='float32')
    assert wrapper.loss_scaler is None
    with wrapper.optim_context(model):
        assert model(torch.ones(1, 2)).dtype == torch.float32


def test_clipping_sees_unscaled_gradients():
    hub = MessageHub.get_instance('test_amp_clip')
    model = nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[1.0, 1.0]]))
    wrapper = _wrapper(model, dtype='float16', clip_grad=dict(max_norm=100.0))
    x = torch.tensor([[3.0, 4.0]])
    wrapper.update_params(model(x).sum())
    # the true gradient is x (norm 5), not x times the 65536 loss scale
    assert hub.get_scalar('train/grad_norm').current() == pytest.approx(5.0)
    torch.testing.assert_close(model.weight, torch.tensor([[0.7, 0.6]]))


def test_state_dict_round_trip_restores_scaler_without_mutating_input():
    model = nn.Linear(1, 1)
    wrapper = _wrapper(model)
    wrapper.update_params(model(torch.ones(1, 1)).sum() * float('inf'))
    state = wrapper.state_dict()
    assert state['loss_scaler']['scale'] == 32768.0
    fresh = _wrapper(nn.Linear(1, 1))
    fresh.load_state_dict(state)
    assert 'loss_scaler' in state
    assert fresh.loss_scaler.get_scale() == 32768.0


def test_accumulation_with_amp_matches_fp32_reference():
    torch.manual_seed(0)
    model, reference = nn.Linear(2, 1), nn.Linear(2, 1)
    reference.load_state_dict(model.state_dict())
    wrapper = _wrapper(model, accumulative_counts=2)
    ref_opt = SGD(reference.parameters(), lr=0.1)
    data = torch.randn(4, 3, 2)
    for x in data:
        wrapper.update_params(model(x).pow(2).mean())
    for pair in data.view(2, 2, 3, 2):
        (sum(reference(x).pow(2).mean() for x in pair) / 2).backward()
        ref_opt.step()
        ref_opt.zero_grad()
    torch.testing.assert_close(model.weight, reference.weight)
