"""FSDP on CUDA (skipped without it; run them from the prepared GPU script).

    python -m pytest tests/test_distributed/test_gpu.py -p no:randomly -q
"""
from __future__ import annotations

import os.path as osp

import pytest
import torch

from mmengine.runner import FlexibleRunner, Runner
from tests._helpers.toy import RingsDataset, RingsModel
from tests.test_distributed._common import CaptureHook, assert_states_close, one_rank_group

pytestmark = [pytest.mark.gpu, pytest.mark.dist]


def _train_args(max_epochs: int) -> dict:
    return dict(
        train_dataloader=dict(dataset=RingsDataset(True, 32), batch_size=8,
                              sampler=dict(type='DefaultSampler', shuffle=True),
                              collate_fn=dict(type='default_collate')),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs), log_level='WARNING',
        optim_wrapper=dict(optimizer=dict(type='AdamW', lr=0.001)), randomness=dict(seed=5),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1)))


def test_fsdp2_bf16_trains_saves_sharded_and_resumes_on_cuda(tmp_path):
    strategy = dict(type='FSDPStrategy', shard_modules=['Linear'],
                    mixed_precision=dict(param_dtype='bfloat16', reduce_dtype='float32'))
    torch.cuda.set_device(0)
    saved, resumed = CaptureHook(), CaptureHook()
    with one_rank_group(str(tmp_path), backend='nccl'):
        runner = FlexibleRunner(model=RingsModel(), work_dir=str(tmp_path / 'a'),
                                experiment_name='a', launcher='pytorch', strategy=strategy,
                                custom_hooks=[saved], **_train_args(1))
        runner.train()
        assert next(runner.model.parameters()).device.type == 'cuda'
        again = FlexibleRunner(model=RingsModel(), work_dir=str(tmp_path / 'b'),
                               experiment_name='b', launcher='pytorch', strategy=strategy,
                               load_from=str(tmp_path / 'a' / 'epoch_1.pth'), resume=True,
                               custom_hooks=[resumed], **_train_args(1))
        again.train()
    assert_states_close(resumed.states['before_train']['model'],
                        saved.states['after_train']['model'])
    assert_states_close(resumed.states['before_train']['optim'],
                        saved.states['after_train']['optim'])


def test_fsdp1_wrapper_through_model_wrapper_cfg_on_cuda(tmp_path):
    torch.cuda.set_device(0)
    with one_rank_group(str(tmp_path), backend='nccl'):
        runner = Runner(model=RingsModel(), work_dir=str(tmp_path / 'a'), experiment_name='a',
                        launcher='pytorch', **_train_args(1),
                        cfg=dict(model_wrapper_cfg=dict(type='MMFullyShardedDataParallel')))
        assert type(runner.model).__name__ == 'MMFullyShardedDataParallel'
        runner.train()
    weights = torch.load(osp.join(tmp_path, 'a', 'epoch_1.pth'),
                         weights_only=True)['state_dict']
    assert weights['mlp.0.weight'].shape == (64, 2)
