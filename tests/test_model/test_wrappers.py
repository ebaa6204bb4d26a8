"""Distributed wrappers on 2 gloo processes: gradient averaging and accumulation."""
from __future__ import annotations

import pytest
import torch
import torch.distributed as torch_dist
import torch.nn as nn

from mmengine.model import BaseModel, MMDistributedDataParallel, MMSeparateDistributedDataParallel
from tests._helpers.dist import run_on_ranks

from ._helpers import StandInOptimWrapper, ToyModel


def _rank_batch(rank: int, step: int) -> dict:
    gen = torch.Generator().manual_seed(100 * rank + step)
    return {'inputs': torch.randn(4, 4, generator=gen),
            'data_samples': torch.randn(4, 2, generator=gen)}


def _local_grads(model: nn.Module, batches: list[dict]) -> list[torch.Tensor]:
    """Gradients of the summed losses of ``batches`` on a private copy of ``model``."""
    model.zero_grad()
    for batch in batches:
        loss = model(**batch, mode='loss')['loss'] / len(batches)
        loss.backward()
    grads = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    return grads


def _gather(tensor: torch.Tensor, world_size: int) -> list[torch.Tensor]:
    out = [torch.empty_like(tensor) for _ in range(world_size)]
    torch_dist.all_gather(out, tensor.contiguous())
    return out


def _check_ddp_accumulation(rank: int, world_size: int) -> None:
    torch.manual_seed(0)  # same initial weights on every rank
    model = ToyModel()
    reference = ToyModel()
    reference.load_state_dict(model.state_dict())
    ddp = MMDistributedDataParallel(model)
    optim = StandInOptimWrapper(torch.optim.SGD(ddp.parameters(), lr=0.0), accumulative_counts=2)

    log_vars = ddp.train_step(_rank_batch(rank, 0), optim)  # accumulation step: no sync
    assert list(log_vars) == ['loss'] and log_vars['loss'].ndim == 0
    after_first = optim.grads[0][0]
    gathered = _gather(after_first, world_size)
    assert not torch.allclose(gathered[0], gathered[1]), 'grads were synced on accumulation'
    own_first = _local_grads(reference, [_rank_batch(rank, 0)])
    assert torch.allclose(after_first * 2, own_first[0], atol=1e-5)  # halved by accumulation

    ddp.train_step(_rank_batch(rank, 1), optim)  # update step: synced
    after_second = optim.grads[1]
    gathered = _gather(after_second[0], world_size)
    assert torch.allclose(gathered[0], gathered[1], atol=1e-6)
    # the synced gradient is the mean over ranks of each rank's accumulated gradient
    per_rank = [_local_grads(reference, [_rank_batch(r, 0), _rank_batch(r, 1)])
                for r in range(world_size)]
    for idx, grad in enumerate(after_second):
        expected = sum(g[idx] for g in per_rank) / world_size
        assert torch.allclose(grad, expected, atol=1e-5)

    # val/test steps delegate to the module
    batch = _rank_batch(rank, 2)
    assert torch.allclose(ddp.val_step(batch)[0], model.linear(batch['inputs']))
    assert torch.allclose(ddp.test_step(batch)[0], model.linear(batch['inputs']))


@pytest.mark.dist
def test_mmddp_averages_grads_and_skips_sync_on_accumulation():
    run_on_ranks(_check_ddp_accumulation, world_size=2)


class _TwoPartModel(BaseModel):
    """A GAN-like model: two parts, each stepped by its own train_step logic."""

    def __init__(self) -> None:
        super().__init__()
        self.generator = nn.Linear(4, 2)
        self.frozen = nn.Linear(2, 2).requires_grad_(False)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        return self.frozen(self.generator(inputs))

    def train_step(self, data, optim_wrapper):
        out = self(**self.data_preprocessor(data, True))
        loss = ((out - data['data_samples']) ** 2).sum()
        optim_wrapper.update_params(loss)
        return {'loss': loss.detach()}

    def val_step(self, data):
        return [self(**self.data_preprocessor(data, False))]


def _check_separate_ddp(rank: int, world_size: int) -> None:
    torch.manual_seed(0)
    model = _TwoPartModel()
    wrapper = MMSeparateDistributedDataParallel(model)
    assert isinstance(model.generator, MMDistributedDataParallel)
    assert isinstance(model.frozen, nn.Linear)  # no trainable parameters: not wrapped
    optim = StandInOptimWrapper(torch.optim.SGD(model.parameters(), lr=0.0))
    log_vars = wrapper.train_step(_rank_batch(rank, 0), optim)
    assert 'loss' in log_vars
    grad = optim.grads[0][0]
    gathered = _gather(grad, world_size)
    assert torch.allclose(gathered[0], gathered[1], atol=1e-6)
    with wrapper.no_sync():
        assert not model.generator.require_backward_grad_sync
    assert wrapper.train(False) is wrapper and not model.training
    assert wrapper.val_step(_rank_batch(rank, 1))[0].shape == (4, 2)


@pytest.mark.dist
def test_separate_ddp_wraps_trainable_children():
    run_on_ranks(_check_separate_ddp, world_size=2)


def _check_fsdp(rank: int, world_size: int) -> None:
    from mmengine.model import is_model_wrapper
    from mmengine.registry import MODEL_WRAPPERS
    torch.manual_seed(0)
    model = ToyModel().cuda()
    fsdp = MODEL_WRAPPERS.build(dict(type='MMFullyShardedDataParallel', module=model,
                                     sharding_strategy='FULL_SHARD'))
    assert is_model_wrapper(fsdp)
    optim = StandInOptimWrapper(torch.optim.SGD(fsdp.parameters(), lr=0.01))
    log_vars = fsdp.train_step(_rank_batch(rank, 0), optim)
    assert log_vars['loss'].ndim == 0
    assert fsdp.val_step(_rank_batch(rank, 1))[0].shape == (4, 2)


@pytest.mark.dist
@pytest.mark.gpu
def test_fsdp_wrapper_steps_on_gpu():
    """FSDP needs an accelerator; one process on the one GPU (gloo collectives)."""
    run_on_ranks(_check_fsdp, world_size=1)


def test_fsdp_config_arguments_convert():
    from torch.distributed.fsdp import CPUOffload, MixedPrecision, ShardingStrategy

    from mmengine.model.wrappers import fully_sharded_distributed as fsd
    assert fsd._enum('shard_grad_op', ShardingStrategy, 'x') is ShardingStrategy.SHARD_GRAD_OP
    with pytest.raises(ValueError, match='FULL_SHARD'):
        fsd._enum('bad', ShardingStrategy, 'sharding_strategy')
    assert fsd._cpu_offload(True) == CPUOffload(offload_params=True)
    precision = fsd._mixed_precision(dict(param_dtype='float16', reduce_dtype=torch.float32))
    assert isinstance(precision, MixedPrecision) and precision.param_dtype is torch.float16
    policy = fsd._function(dict(type=_size_policy, min_params=5), 'auto_wrap_policy')
    assert policy(nn.Linear(4, 2)) == (True, 5)
    with pytest.raises(KeyError, match='FUNCTIONS'):
        fsd._function('no_such_policy_registered', 'auto_wrap_policy')


def _size_policy(module: nn.Module, min_params: int = 0) -> tuple[bool, int]:
    return sum(p.numel() for p in module.parameters()) >= min_params, min_params
