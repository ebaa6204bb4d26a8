"""OptimWrapper: update protocol, gradient accumulation, clipping, settings and state."""
from __future__ import annotations

from contextlib import contextmanager

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim import SGD, Adam

from mmengine.logging import MessageHub
from mmengine.optim import OptimWrapper


def _batches(count: int, seed: int = 0) -> list[tuple[torch.Tensor, torch.Tensor]]:
    gen = torch.Generator().manual_seed(seed)
    return [(torch.randn(3, 2, generator=gen), torch.randn(3, 1, generator=gen))
            for _ in range(count)]


def _model(seed: int = 0) -> nn.Linear:
    torch.manual_seed(seed)
    return nn.Linear(2, 1)


def test_update_params_matches_plain_sgd_loop():
    ours, reference = _model(), _model()
    wrapper = OptimWrapper(SGD(ours.parameters(), lr=0.1))
    optimizer = SGD(reference.parameters(), lr=0.1)
    for x, y in _batches(5):
        wrapper.update_params(F.mse_loss(ours(x), y))
        loss = F.mse_loss(reference(x), y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    for a, b in zip(ours.parameters(), reference.parameters()):
        torch.testing.assert_close(a, b)
        assert a.grad is None or not a.grad.any()
    assert wrapper.inner_count == 5


def _reference_windows(batches, windows, lr=0.1) -> nn.Linear:
    """One SGD step per window on the mean of its per-batch losses."""
    model = _model()
    optimizer = SGD(model.parameters(), lr=lr)
    start = 0
    for size in windows:
        window = batches[start:start + size]
        loss = sum(F.mse_loss(model(x), y) for x, y in window) / size
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        start += size
    return model


def test_accumulation_with_partial_last_window_equals_full_batch_steps():
    batches = _batches(10)
    model = _model()
    wrapper = OptimWrapper(SGD(model.parameters(), lr=0.1), accumulative_counts=4)
    wrapper.initialize_count_status(model, 0, 10)
    updates = []
    for x, y in batches:
        wrapper.update_params(F.mse_loss(model(x), y))
        updates.append(wrapper.should_update())
    assert updates == [False, False, False, True] * 2 + [False, True]
    reference = _reference_windows(batches, [4, 4, 2])
    for a, b in zip(model.parameters(), reference.parameters()):
        torch.testing.assert_close(a, b)


def test_scale_loss_divides_last_window_by_its_real_size():
    model = _model()
    wrapper = OptimWrapper(SGD(model.parameters(), lr=0.1), accumulative_counts=4)
    wrapper.initialize_count_status(model, 0, 10)
    factors = []
    for _ in range(10):
        factors.append(1 / wrapper.scale_loss(torch.tensor(1.0)).item())
        wrapper._inner_count += 1
    assert factors == pytest.approx([4] * 8 + [2] * 2)


def test_accumulation_without_max_counts_divides_by_accumulative_counts():
    model = _model()
    wrapper = OptimWrapper(SGD(model.parameters(), lr=0.1), accumulative_counts=3)
    assert wrapper.scale_loss(torch.tensor(6.0)).item() == pytest.approx(2.0)
    assert OptimWrapper(SGD(model.parameters(), lr=0.1)).scale_loss(torch.tensor(6.0)) == 6.0


def test_backward_scales_and_counts():
    model = nn.Linear(1, 1, bias=False)
    wrapper = OptimWrapper(SGD(model.parameters(), lr=0.1), accumulative_counts=2)
    wrapper.backward(model(torch.ones(1, 1)).sum())
    # d(w * 1)/dw = 1, divided by the accumulation count
    assert model.weight.grad.item() == pytest.approx(0.5)
    assert wrapper.inner_count == 1
    assert not wrapper.should_update()
    assert wrapper.should_sync()


def test_resume_midway_counts_from_init_counts():
    model = _model()
    wrapper = OptimWrapper(SGD(model.parameters(), lr=0.1), accumulative_counts=4)
    wrapper.initialize_count_status(model, 8, 10)
    assert wrapper.inner_count == 8
    assert wrapper.scale_loss(torch.tensor(2.0)).item() == pytest.approx(1.0)
    assert not wrapper.should_sync() and wrapper._inner_count == 8
    wrapper._inner_count = 9
    assert wrapper.should_sync()


def test_initialize_count_status_warns_about_batch_norm(capsys):
    model = nn.Sequential(nn.Linear(1, 1), nn.BatchNorm1d(1))
    OptimWrapper(SGD(model.parameters(), lr=0.1),
                 accumulative_counts=2).initialize_count_status(model, 3, 10)
    out = capsys.readouterr().out
    assert 'BatchNorm' in out and 'not a multiple of accumulative_counts=2' in out


class _RecordingDDP(nn.Module):
    """Stands in for DistributedDataParallel: records when gradient sync is disabled."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(1, 1)
        self.no_sync_calls = 0

    @contextmanager
    def no_sync(self):
        self.no_sync_calls += 1
        yield


def test_optim_context_skips_sync_except_on_updating_iterations():
    model = _RecordingDDP()
    wrapper = OptimWrapper(SGD(model.parameters(), lr=0.1), accumulative_counts=3)
    wrapper.initialize_count_status(model, 0, 5)
    skipped = []
    for _ in range(5):
        before = model.no_sync_calls
        with wrapper.optim_context(model):
            loss = model.linear(torch.ones(1, 1)).sum()
        wrapper.update_params(loss)
        skipped.append(model.no_sync_calls > before)
    # windows [0, 1, 2] and the partial [3, 4]: only each window's last backward syncs
    assert skipped == [True, True, False, True, False]


def test_clip_grad_norm_clips_and_records_tensor_norm(monkeypatch):
    hub = MessageHub.get_instance('test_clip')
    recorded = []
    update_scalar = hub.update_scalar
    monkeypatch.setattr(hub, 'update_scalar',
                        lambda key, value, *a, **k: (recorded.append((key, value)),
                                                     update_scalar(key, value, *a, **k)))
    model = nn.Linear(2, 1, bias=False)
    wrapper = OptimWrapper(SGD(model.parameters(), lr=0.0), clip_grad=dict(max_norm=1.0))
    model.weight.grad = torch.tensor([[3.0, 4.0]])
    wrapper.step()
    torch.testing.assert_close(model.weight.grad, torch.tensor([[0.6, 0.8]]))
    buffer = hub.get_scalar('train/grad_norm')
    assert buffer.current() == pytest.approx(5.0)
    # handed over as a tensor: no host-device sync in the training loop
    assert [key for key, _ in recorded] == ['train/grad_norm']
    assert isinstance(recorded[0][1], torch.Tensor)


def test_clip_grad_value_clamps_gradients():
    model = nn.Linear(2, 1, bias=False)
    wrapper = OptimWrapper(SGD(model.parameters(), lr=0.0),
                           clip_grad=dict(type='value', clip_value=0.5))
    model.weight.grad = torch.tensor([[3.0, -0.2]])
    wrapper.step()
    torch.testing.assert_close(model.weight.grad, torch.tensor([[0.5, -0.2]]))


def test_clip_grad_with_only_clip_value_means_value_clipping():
    model = nn.Linear(2, 1, bias=False)
    wrapper = OptimWrapper(SGD(model.parameters(), lr=0.0), clip_grad=dict(clip_value=0.2))
    assert wrapper.clip_func is torch.nn.utils.clip_grad_value_
    model.weight.grad = torch.tensor([[-3.0, 0.1]])
    wrapper.step()
    torch.testing.assert_close(model.weight.grad, torch.tensor([[-0.2, 0.1]]))


def test_clip_grad_config_is_not_mutated_and_validated():
    clip = dict(type='norm', max_norm=1.0)
    OptimWrapper(SGD(nn.Linear(1, 1).parameters(), lr=0.1), clip_grad=clip)
    assert clip == dict(type='norm', max_norm=1.0)
    params = nn.Linear(1, 1).parameters()
    with pytest.raises(ValueError, match="'norm', 'value'"):
        OptimWrapper(SGD(params, lr=0.1), clip_grad=dict(type='percentile', max_norm=1))
    with pytest.raises(ValueError, match='needs the arguments'):
        OptimWrapper(SGD(nn.Linear(1, 1).parameters(), lr=0.1), clip_grad=dict(type='norm'))
    with pytest.raises(TypeError, match='clip_grad must be a dict'):
        OptimWrapper(SGD(nn.Linear(1, 1).parameters(), lr=0.1), clip_grad=1.0)


def test_constructor_validates_arguments():
    with pytest.raises(TypeError, match='torch.optim.Optimizer'):
        OptimWrapper(dict(type='SGD', lr=0.1))
    with pytest.raises(ValueError, match='positive int'):
        OptimWrapper(SGD(nn.Linear(1, 1).parameters(), lr=0.1), accumulative_counts=0)


def test_get_lr_and_momentum_per_group_including_adam_betas():
    model = nn.ModuleDict(dict(a=nn.Linear(1, 1), b=nn.Linear(1, 1)))
    sgd = OptimWrapper(SGD([{'params': model.a.parameters()},
                            {'params': model.b.parameters(), 'lr': 0.5, 'momentum': 0.8}],
                           lr=0.1, momentum=0.9))
    assert sgd.get_lr() == {'lr': [0.1, 0.5]}
    assert sgd.get_momentum() == {'momentum': [0.9, 0.8]}
    adam = OptimWrapper(Adam(model.parameters(), lr=0.001, betas=(0.85, 0.99)))
    assert adam.get_momentum() == {'momentum': [0.85]}
    assert adam.param_groups is adam.optimizer.param_groups
    assert adam.defaults['betas'] == (0.85, 0.99)


def test_state_dict_round_trip_restores_optimizer_state():
    model = _model()
    wrapper = OptimWrapper(SGD(model.parameters(), lr=0.1, momentum=0.9))
    for x, y in _batches(2):
        wrapper.update_params(F.mse_loss(model(x), y))
    torch.save(wrapper.state_dict(), 'optim.pth')
    state = torch.load('optim.pth', weights_only=True)  # plain data only
    assert state.keys() == {'state', 'param_groups'}
    fresh = OptimWrapper(SGD(_model().parameters(), lr=0.5, momentum=0.9))
    fresh.load_state_dict(state)
    assert fresh.get_lr() == {'lr': [0.1]}
    torch.testing.assert_close(fresh.optimizer.state_dict()['state'][0]['momentum_buffer'],
                               state['state'][0]['momentum_buffer'])


def test_step_and_zero_grad_pass_kwargs():
    model = nn.Linear(1, 1)
    wrapper = OptimWrapper(SGD(model.parameters(), lr=0.1))
    model(torch.ones(1, 1)).sum().backward()
    wrapper.zero_grad(set_to_none=False)
    assert model.weight.grad is not None and model.weight.grad.item() == 0
    calls = []
    wrapper.step(closure=lambda: calls.append(1))
    assert calls == [1]


def test_repr_names_type_and_counts():
    wrapper = OptimWrapper(SGD(nn.Linear(1, 1).parameters(), lr=0.1), accumulative_counts=2)
    assert 'Type: OptimWrapper' in repr(wrapper) and '_accumulative_counts: 2' in repr(wrapper)


def test_an_overridden_scale_loss_is_called_without_accumulation_too():
    class Doubling(OptimWrapper):
        def scale_loss(self, loss):
            return loss * 2

    weight = nn.Parameter(torch.ones(()))
    wrapper = Doubling(SGD([weight], lr=1.0))
    wrapper.backward(weight * 3)
    assert weight.grad.item() == 6.0  # the default (identity) would give 3
    plain = OptimWrapper(SGD([nn.Parameter(torch.ones(()))], lr=1.0))
    param = plain.optimizer.param_groups[0]['params'][0]
    plain.backward(param * 3)
    assert param.grad.item() == 3.0
