"""Strategies, FlexibleRunner and the launchers, in this process (one-rank groups)."""
from __future__ import annotations

import importlib.util
import os
import os.path as osp

import pytest
import torch
import torch.distributed as torch_dist
import torch.nn as nn

from mmengine._strategy import (
    BaseStrategy,
    ColossalAIStrategy,
    DDPStrategy,
    DeepSpeedStrategy,
    FSDPStrategy,
    SingleDeviceStrategy,
)
from mmengine.registry import STRATEGIES
from mmengine.runner import FlexibleRunner, Runner
from tests._helpers.toy import RingsDataset, RingsModel
from tests.test_distributed._common import free_port, one_rank_group

pytestmark = pytest.mark.dist


@pytest.mark.parametrize('cls, package', [(DeepSpeedStrategy, 'deepspeed'),
                                          (ColossalAIStrategy, 'colossalai')])
def test_optional_strategies_name_their_missing_package(cls, package):
    assert STRATEGIES.get(cls.__name__) is cls
    if importlib.util.find_spec(package) is not None:
        pytest.skip(f'{package} is installed here')
    with pytest.raises(ImportError, match=package):
        STRATEGIES.build(dict(type=cls.__name__))


def test_strategy_arguments_are_checked():
    for name in ('SingleDeviceStrategy', 'DDPStrategy', 'FSDPStrategy'):
        assert issubclass(STRATEGIES.get(name), BaseStrategy)
    with pytest.raises(ValueError, match='sync_bn'):
        DDPStrategy(sync_bn='apex')
    with pytest.raises(TypeError, match='model_wrapper'):
        DDPStrategy(model_wrapper='MMDistributedDataParallel')
    with pytest.raises(ValueError, match='state_dict_type'):
        FSDPStrategy(state_dict_type='local')
    with pytest.raises(TypeError, match='mixed_precision'):
        FSDPStrategy(mixed_precision='bf16')
    with pytest.raises(RuntimeError, match='torchrun'):
        FSDPStrategy().wrap_model(nn.Linear(2, 2))
    with pytest.raises(ValueError, match='model_wrapper_cfg'):
        FSDPStrategy().wrap_model(nn.Linear(2, 2), dict(type='MMDistributedDataParallel'))
    with pytest.raises(TypeError, match='strategy'):
        FlexibleRunner(model=RingsModel(), work_dir='w', strategy='FSDPStrategy')


def test_flexible_runner_takes_strategy_from_config_and_shares_runner_behaviour():
    common = dict(
        train_dataloader=dict(dataset=RingsDataset(True, 16), batch_size=8,
                              sampler=dict(type='DefaultSampler', shuffle=False),
                              collate_fn=dict(type='default_collate')),
        train_cfg=dict(by_epoch=True, max_epochs=1), log_level='WARNING',
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)), randomness=dict(seed=3))
    torch.manual_seed(0)
    flexible = FlexibleRunner(model=RingsModel(), work_dir='flexible', experiment_name='flex',
                              cfg=dict(strategy=dict(type='SingleDeviceStrategy')), **common)
    assert type(flexible.strategy) is SingleDeviceStrategy
    flexible.train()
    torch.manual_seed(0)
    plain = Runner(model=RingsModel(), work_dir='plain', experiment_name='plain', **common)
    plain.train()
    for key, value in plain.model.state_dict().items():
        assert torch.equal(flexible.model.state_dict()[key], value)
    checkpoint = torch.load(osp.join('flexible', 'epoch_1.pth'), weights_only=True)
    assert checkpoint['meta']['epoch'] == 1 and 'optimizer' in checkpoint
    default = FlexibleRunner(model=RingsModel(), work_dir='default', experiment_name='default')
    assert type(default.strategy) is SingleDeviceStrategy


@pytest.mark.parametrize('launcher', ['slurm', 'mpi'])
def test_slurm_and_mpi_launchers_initialise_the_group(launcher, monkeypatch):
    for key in ('MASTER_ADDR', 'MASTER_PORT', 'RANK', 'WORLD_SIZE', 'LOCAL_RANK'):
        monkeypatch.delenv(key, raising=False)
    if launcher == 'slurm':
        for key, value in dict(SLURM_PROCID='0', SLURM_NTASKS='1', SLURM_NTASKS_PER_NODE='1',
                               SLURM_NODELIST='localhost').items():
            monkeypatch.setenv(key, value)
    else:
        for key in ('RANK', 'LOCAL_RANK', 'SIZE', 'LOCAL_SIZE'):
            monkeypatch.setenv(f'OMPI_COMM_WORLD_{key}', '0' if 'RANK' in key else '1')
    port = free_port()
    try:
        runner = Runner(model=RingsModel(), work_dir='w', launcher=launcher,
                        env_cfg=dict(dist_cfg=dict(backend='nccl', port=port, timeout=30)),
                        randomness=dict(seed=None))
        assert (runner.distributed, runner.rank, runner.world_size) == (True, 0, 1)
        assert torch_dist.get_backend() == 'gloo'  # nccl fell back: no CUDA
        assert os.environ['MASTER_PORT'] == str(port)
        expected_addr = 'localhost' if launcher == 'slurm' else '127.0.0.1'
        assert os.environ['MASTER_ADDR'] == expected_addr  # derived, it was not set
        assert isinstance(runner.seed, int)
    finally:
        if torch_dist.is_initialized():
            torch_dist.destroy_process_group()


def test_fsdp_strategy_shards_units_with_mixed_precision(tmp_path):
    from torch.distributed.fsdp import FSDPModule
    from torch.distributed.tensor import DTensor
    strategy = FSDPStrategy(shard_modules=['Linear'],
                            mixed_precision=dict(param_dtype='bfloat16'))
    with one_rank_group(str(tmp_path)):
        model, optim_wrapper = strategy.prepare(
            RingsModel(), dict(optimizer=dict(type='SGD', lr=0.1)))
        linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
        assert all(isinstance(m, FSDPModule) for m in linears + [model])
        assert all(isinstance(p, DTensor) and p.dtype == torch.float32
                   for p in model.parameters())
        assert all(isinstance(p, DTensor) for group in optim_wrapper.param_groups
                   for p in group['params'])
        logits = model(torch.randn(4, 2), torch.zeros(4, dtype=torch.long), mode='tensor')
        assert logits.dtype == torch.bfloat16  # computed in the policy's dtype
        full = FSDPStrategy(state_dict_type='full').model_state_dict(model)
        assert full['mlp.0.weight'].shape == (64, 2) and not isinstance(
            full['mlp.0.weight'], DTensor)
