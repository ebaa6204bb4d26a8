"""Distributed training under ``torchrun`` on 2 CPU processes (gloo), checked from outside.

One torchrun job (``_torchrun_job.py``) runs every multi-rank phase, so torch is imported
once per rank; each test below checks one behaviour from the results the ranks wrote. The
one-rank FSDP runs (save on 1 rank, resume on 1 rank) happen in this process inside a
one-process gloo group.
"""
from __future__ import annotations

import os
import os.path as osp
import subprocess
import sys
import time
from types import SimpleNamespace

import pytest
import torch

from mmengine.dataset import default_collate
from mmengine.runner import FlexibleRunner, Runner
from tests._helpers.toy import RingsAccuracy, RingsDataset, RingsModel
from tests.test_distributed._common import (
    REPO,
    CaptureHook,
    TensorPairs,
    assert_states_close,
    evaluate_per_sample,
    free_port,
    one_rank_group,
)

pytestmark = pytest.mark.dist

JOB = osp.join(osp.dirname(osp.abspath(__file__)), '_torchrun_job.py')
JOB_TIMEOUT = 240
FSDP = dict(type='FSDPStrategy', shard_modules=['Linear'])


def _fsdp_runner(work_dir: str, name: str, max_epochs: int, **kwargs) -> FlexibleRunner:
    """A one-rank FSDP run of the rings model (the job's model has the same names)."""
    return FlexibleRunner(
        model=RingsModel(), work_dir=work_dir, experiment_name=name, launcher='pytorch',
        strategy=FSDP, randomness=dict(seed=7), log_level='WARNING',
        train_dataloader=dict(dataset=RingsDataset(True, 32), batch_size=8,
                              sampler=dict(type='DefaultSampler', shuffle=True),
                              collate_fn=dict(type='default_collate')),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        optim_wrapper=dict(optimizer=dict(type='Adam', lr=0.001)),
        param_scheduler=dict(type='MultiStepLR', by_epoch=True, milestones=[4, 8], gamma=0.1),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1)), **kwargs)


@pytest.fixture(scope='module')
def job(tmp_path_factory):
    """Save an FSDP checkpoint on one rank here, then run the two-rank torchrun job."""
    out = str(tmp_path_factory.mktemp('torchrun'))
    with one_rank_group(out):
        capture = CaptureHook()
        runner = _fsdp_runner(osp.join(out, 'one_rank'), 'one_rank', max_epochs=1,
                              custom_hooks=[capture])
        runner.train()
    env = dict(os.environ, OMP_NUM_THREADS='1',
               PYTHONPATH=os.pathsep.join([REPO, os.environ.get('PYTHONPATH', '')]))
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=2',
           f'--master_port={free_port()}', JOB, out,
           osp.join(out, 'one_rank', 'epoch_1.pth')]
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=out, env=env, capture_output=True, text=True,
                          timeout=JOB_TIMEOUT)
    elapsed = time.monotonic() - start
    output = proc.stdout + proc.stderr
    paths = [osp.join(out, f'results_{rank}.pt') for rank in (0, 1)]
    if not all(osp.exists(p) for p in paths):
        pytest.fail(f'the torchrun job failed before its last phase:\n{output[-6000:]}')
    ranks = [torch.load(p, weights_only=True) for p in paths]
    return SimpleNamespace(out=out, ranks=ranks, returncode=proc.returncode, output=output,
                           elapsed=elapsed, one_rank_state=capture.states['after_train'])


def _weights(path: str) -> dict:
    return torch.load(path, weights_only=True)['state_dict']


def test_ddp_rings_equal_single_process_with_twice_the_batch(job):
    rank0, rank1 = job.ranks
    for rank, res in enumerate(job.ranks):
        assert res['wrapper'] == 'MMDistributedDataParallel'
        assert res['backend'] == 'gloo' and res['world_size'] == 2
        assert res['weights_equal_across_ranks']
        assert res['sampler_epoch'] == 1  # DistSamplerSeedHook set the second epoch
        assert res['worker_rank'] == rank and res['seed'] == 2024
    assert "backend='nccl' needs CUDA" in job.output and "using 'gloo'" in job.output
    assert rank0['ddp_vs_single'] < 1e-5
    # Validation on 2 ranks equals one process evaluating the same weights.
    assert rank0['accuracy'] == rank1['accuracy'] == rank0['single_accuracy']
    data, labels = torch.load(osp.join(job.out, 'val_data.pt'), weights_only=True)['val16']
    runner = Runner(model=RingsModel(), work_dir='single_eval', experiment_name='single_eval',
                    log_level='WARNING',
                    load_from=osp.join(job.out, 'ddp', 'epoch_2.pth'),
                    val_dataloader=dict(dataset=TensorPairs(data, labels), batch_size=16,
                                        sampler=dict(type='DefaultSampler', shuffle=False),
                                        collate_fn=default_collate),
                    val_cfg=dict(), val_evaluator=RingsAccuracy())
    assert float(runner.val()['accuracy']) == rank0['accuracy']


def test_uneven_shards_are_evaluated_once_per_sample(job):
    rank0, rank1 = job.ranks
    assert rank0['uneven'] == rank1['uneven']
    assert rank0['uneven']['count'] == 11  # 12 padded indices, the duplicate dropped
    data, labels = torch.load(osp.join(job.out, 'val_data.pt'), weights_only=True)['val11']
    model = RingsModel()
    model.load_state_dict(_weights(osp.join(job.out, 'ddp', 'epoch_2.pth')))
    assert evaluate_per_sample(model, TensorPairs(data, labels), batch_size=4) == \
        rank0['uneven']


def test_resumed_distributed_run_matches_uninterrupted(job):
    for res in job.ranks:
        assert res['resume_strategy'] == 'DDPStrategy'
        assert res['resume_vs_uninterrupted'] < 1e-6


def test_sync_bn_wrapper_config_and_rank_seeds(job):
    for rank, res in enumerate(job.ranks):
        assert res['bn_type'] == 'SyncBatchNorm' and res['wrapper_note'] == 7
        assert res['find_unused'] is True
        assert res['drawn_seed'] == job.ranks[0]['drawn_seed']  # one seed, agreed
        assert res['initial_seed'] == res['drawn_seed'] + rank  # diff_rank_seed offsets it


def test_sync_buffers_hook_and_accumulation_without_sync(job):
    for res in job.ranks:
        assert res['buffers_synced'] and res['buffers_differ_without_hook']
        # No all-reduce on the accumulating step, one bucket on the updating step.
        assert res['reductions'] == [0, 1]
        assert res['local_grads_differ']


def test_fsdp_shards_trains_like_ddp_and_writes_per_rank_shards(job):
    rank0, rank1 = job.ranks
    for res in job.ranks:
        assert res['fsdp_param_type'] == 'DTensor' == res['fsdp_optim_state_type']
    assert rank0['fsdp_vs_ddp'] < 1e-5
    assert rank0['fsdp_accuracy'] == rank1['fsdp_accuracy'] == rank0['accuracy']
    files = set(os.listdir(osp.join(job.out, 'fsdp', 'epoch_2.pth')))
    assert {'.metadata', '__0_0.distcp', '__1_0.distcp', 'runner_state.pth'} <= files
    with open(osp.join(job.out, 'fsdp', 'last_checkpoint')) as f:
        assert f.read().strip().endswith('epoch_2.pth')


def test_fsdp_save_on_one_rank_resume_on_two(job):
    states = torch.load(osp.join(job.out, 'from_one_rank_states.pt'), weights_only=True)
    assert states['before_train']['epoch'] == 1
    assert_states_close(states['before_train']['model'], job.one_rank_state['model'])
    assert_states_close(states['before_train']['optim'], job.one_rank_state['optim'])


def test_fsdp_save_on_two_ranks_resume_on_one(job, tmp_path):
    expected = torch.load(osp.join(job.out, 'fsdp_states.pt'), weights_only=True)
    capture = CaptureHook()
    with one_rank_group(str(tmp_path)):
        # resume=True alone: the job's last_checkpoint pointer names the sharded directory.
        runner = _fsdp_runner(osp.join(job.out, 'fsdp'), 'resume_one', max_epochs=2,
                              resume=True, custom_hooks=[capture])
        runner.train()
    assert capture.states['before_train']['epoch'] == 2
    assert_states_close(capture.states['before_train']['model'],
                        expected['after_train']['model'])
    assert_states_close(capture.states['before_train']['optim'],
                        expected['after_train']['optim'])


def test_fsdp_consolidated_export_loads_in_a_plain_runner(job):
    expected = torch.load(osp.join(job.out, 'fsdp_states.pt'), weights_only=True)
    runner = Runner(model=RingsModel(), work_dir='plain', experiment_name='plain',
                    log_level='WARNING')
    runner.load_checkpoint(osp.join(job.out, 'fsdp_full.pth'), strict=True)
    assert_states_close(dict(runner.model.state_dict()), expected['after_train']['model'])
    assert 'optimizer' not in torch.load(osp.join(job.out, 'fsdp_full.pth'), weights_only=True)
    # The sharded directory itself also loads, consolidated in memory.
    sharded = Runner(model=RingsModel(), work_dir='plain2', experiment_name='plain2',
                     log_level='WARNING')
    sharded.load_checkpoint(osp.join(job.out, 'fsdp', 'epoch_2.pth'), strict=True)
    assert_states_close(dict(sharded.model.state_dict()), expected['after_train']['model'])


def test_a_failing_rank_ends_the_whole_job(job):
    assert job.returncode != 0
    assert 'boom on rank 1' in job.output  # the failing rank's traceback is shown
    assert 'rank 0: failure phase starts' in job.output
    assert 'unexpectedly finished' not in job.output
    assert job.elapsed < JOB_TIMEOUT
