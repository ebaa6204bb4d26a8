"""Optimizer registration and build_optim_wrapper (single, dict-of-configs, distributed)."""
from __future__ import annotations

import copy
import inspect

import pytest
import torch
import torch.distributed as torch_dist
import torch.nn as nn
import torch.optim
from torch.optim import SGD, Adam

from mmengine.optim import (
    AmpOptimWrapper,
    ApexOptimWrapper,
    OptimWrapper,
    OptimWrapperDict,
    build_optim_wrapper,
)
from mmengine.optim.optimizer import apex_optimizer_wrapper
from mmengine.optim.optimizer.builder import register_torch_optimizers
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS, OPTIM_WRAPPERS, OPTIMIZERS
from tests._helpers.dist import run_on_ranks


def test_every_torch_optimizer_is_registered():
    torch_optimizers = {name for name, obj in vars(torch.optim).items()
                        if inspect.isclass(obj) and issubclass(obj, torch.optim.Optimizer)
                        and obj is not torch.optim.Optimizer}
    assert {'SGD', 'Adam', 'AdamW'} <= torch_optimizers
    for name in torch_optimizers:
        assert OPTIMIZERS.get(name) is getattr(torch.optim, name)
    assert set(register_torch_optimizers()) == torch_optimizers  # idempotent


def test_wrappers_and_constructor_are_registered():
    for name in ('OptimWrapper', 'AmpOptimWrapper', 'ApexOptimWrapper'):
        assert OPTIM_WRAPPERS.get(name) is not None
    assert OPTIM_WRAPPER_CONSTRUCTORS.get('DefaultOptimWrapperConstructor') is not None


def test_build_defaults_to_optim_wrapper_and_accepts_a_class_type():
    model = nn.Linear(2, 1)
    wrapper = build_optim_wrapper(model, dict(optimizer=dict(type=SGD, lr=0.01, momentum=0.9)))
    assert type(wrapper) is OptimWrapper and isinstance(wrapper.optimizer, SGD)
    assert wrapper.get_lr() == {'lr': [0.01]} and wrapper.get_momentum() == {'momentum': [0.9]}
    params = [p for group in wrapper.param_groups for p in group['params']]
    assert params == list(model.parameters())


def test_build_amp_with_wrapper_arguments():
    cfg = dict(type='AmpOptimWrapper', accumulative_counts=2, dtype='bfloat16',
               clip_grad=dict(max_norm=1.0),
               optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0001))
    wrapper = build_optim_wrapper(nn.Linear(1, 1), cfg)
    assert isinstance(wrapper, AmpOptimWrapper) and wrapper._accumulative_counts == 2
    assert wrapper.cast_dtype is torch.bfloat16 and wrapper.clip_grad_kwargs == {'max_norm': 1.0}


def test_build_does_not_mutate_the_config():
    cfg = dict(type='OptimWrapper', constructor='DefaultOptimWrapperConstructor',
               optimizer=dict(type='SGD', lr=0.01, weight_decay=1e-4),
               clip_grad=dict(type='norm', max_norm=1),
               paramwise_cfg=dict(norm_decay_mult=0, custom_keys={'0': dict(lr_mult=0.1)}))
    before = copy.deepcopy(cfg)
    build_optim_wrapper(nn.Sequential(nn.Linear(1, 1), nn.BatchNorm1d(1)), cfg)
    build_optim_wrapper(nn.Sequential(nn.Linear(1, 1), nn.BatchNorm1d(1)), cfg)
    assert cfg == before


def test_build_with_a_built_optimizer():
    model = nn.Linear(1, 1)
    optimizer = SGD(model.parameters(), lr=0.3)
    wrapper = build_optim_wrapper(model, dict(optimizer=optimizer, accumulative_counts=2))
    assert wrapper.optimizer is optimizer and wrapper._accumulative_counts == 2


class _Gan(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.generator = nn.Linear(2, 2)
        self.discriminator = nn.Linear(2, 1)


def test_dict_of_configs_builds_optim_wrapper_dict_per_submodule():
    model = _Gan()
    cfg = dict(generator=dict(optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999))),
               discriminator=dict(type='AmpOptimWrapper', dtype='bfloat16',
                                  optimizer=dict(type='SGD', lr=0.01)))
    before = copy.deepcopy(cfg)
    wrappers = build_optim_wrapper(model, cfg)
    assert isinstance(wrappers, OptimWrapperDict) and list(wrappers) == list(cfg)
    assert isinstance(wrappers['generator'].optimizer, Adam)
    assert isinstance(wrappers['discriminator'], AmpOptimWrapper)
    gen_params = [p for g in wrappers['generator'].param_groups for p in g['params']]
    assert gen_params == list(model.generator.parameters())
    assert wrappers.get_lr() == {'generator.lr': [2e-4], 'discriminator.lr': [0.01]}
    assert cfg == before


def test_dict_of_configs_rejects_unknown_submodules_and_bad_values():
    with pytest.raises(ValueError, match=r"no such submodule \(children: \['generator'"):
        build_optim_wrapper(_Gan(), dict(gen=dict(optimizer=dict(type='SGD', lr=0.1))))
    with pytest.raises(TypeError, match="'generator' is a int"):
        build_optim_wrapper(_Gan(), dict(generator=3))


def test_dict_accepts_built_wrappers():
    model = _Gan()
    built = OptimWrapper(SGD(model.generator.parameters(), lr=0.1))
    wrappers = build_optim_wrapper(model, dict(
        generator=built, discriminator=dict(optimizer=dict(type='SGD', lr=0.2))))
    assert wrappers['generator'] is built


def test_unknown_optimizer_and_constructor_raise_key_error():
    with pytest.raises(KeyError, match='SDG'):
        build_optim_wrapper(nn.Linear(1, 1), dict(optimizer=dict(type='SDG', lr=0.1)))
    with pytest.raises(KeyError, match='NoSuchConstructor'):
        build_optim_wrapper(nn.Linear(1, 1), dict(optimizer=dict(type='SGD', lr=0.1),
                                                  constructor='NoSuchConstructor'))
    with pytest.raises(TypeError, match='must be a dict'):
        build_optim_wrapper(nn.Linear(1, 1), [dict(type='SGD')])


def test_apex_wrapper_explains_missing_apex(monkeypatch):
    monkeypatch.setattr(apex_optimizer_wrapper, 'apex_amp', None)
    with pytest.raises(ImportError, match='NVIDIA apex'):
        ApexOptimWrapper(optimizer=SGD(nn.Linear(1, 1).parameters(), lr=0.1))


def test_zero_optimizer_rejects_unknown_optimizer_type():
    from mmengine.optim import ZeroRedundancyOptimizer
    assert issubclass(ZeroRedundancyOptimizer, torch.distributed.optim.ZeroRedundancyOptimizer)
    with pytest.raises(ValueError, match='optimizer_type'):
        ZeroRedundancyOptimizer(nn.Linear(1, 1).parameters(), optimizer_type='NoSuchOptim')


def _check_zero_state_dict(rank: int, world_size: int) -> None:
    torch.manual_seed(0)
    model = nn.Linear(4, 4)
    wrapper = build_optim_wrapper(model, dict(optimizer=dict(
        type='ZeroRedundancyOptimizer', optimizer_type='SGD', lr=0.1, momentum=0.9)))
    assert type(wrapper.optimizer).__name__ == 'ZeroRedundancyOptimizer'
    wrapper.update_params(model(torch.ones(2, 4)).sum())
    state = wrapper.state_dict()  # collective: every rank calls it
    if rank == 0:
        assert len(state['state']) == 2 and state['param_groups'][0]['lr'] == 0.1
    else:
        assert state == {}


def _check_ddp_accumulation_skips_sync(rank: int, world_size: int) -> None:
    torch.manual_seed(0)
    model = nn.parallel.DistributedDataParallel(nn.Linear(1, 1, bias=False))
    wrapper = OptimWrapper(SGD(model.parameters(), lr=0.1), accumulative_counts=2)
    x = torch.full((1, 1), float(rank + 1))
    with wrapper.optim_context(model):
        loss = model(x).sum()
    wrapper.update_params(loss)
    # not synchronized yet: each rank holds its own gradient x / 2
    assert model.module.weight.grad.item() == pytest.approx((rank + 1) / 2)
    with wrapper.optim_context(model):
        loss = model(x).sum()
    wrapper.update_params(loss)
    weights = [torch.zeros(1) for _ in range(world_size)]
    torch_dist.all_gather(weights, model.module.weight.detach().view(1))
    assert weights[0].item() == weights[1].item()
    # the all-reduced mean gradient over ranks is (1 + 2) / 2 = 1.5; lr 0.1
    torch.manual_seed(0)
    start = nn.Linear(1, 1, bias=False).weight.item()
    assert weights[0].item() == pytest.approx(start - 0.15)


def _check_distributed(rank: int, world_size: int) -> None:
    # one spawn for both checks: starting processes costs far more than the checks
    _check_zero_state_dict(rank, world_size)
    _check_ddp_accumulation_skips_sync(rank, world_size)


@pytest.mark.dist
def test_zero_state_dict_and_ddp_accumulation_on_two_ranks():
    run_on_ranks(_check_distributed, world_size=2)
