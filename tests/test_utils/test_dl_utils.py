from __future__ import annotations

import logging
import multiprocessing as mp
import os

import numpy as np
import pytest
import torch
from torch import nn

from mmengine.utils.dl_utils import (
    TORCH_VERSION,
    TimeCounter,
    collect_env,
    has_batch_norm,
    is_jit_tracing,
    is_norm,
    mmcv_full_available,
    set_multi_processing,
    tensor2imgs,
    torch_meshgrid,
)


def test_collect_env_keys():
    env = collect_env()
    keys = list(env)
    assert keys[:4] == ['sys.platform', 'Python', 'CUDA available', 'numpy_random_seed']
    for key in ['GCC', 'PyTorch', 'PyTorch compiling details', 'NumPy', 'MMEngine']:
        assert key in env
    assert env['PyTorch'] == torch.__version__ == TORCH_VERSION
    assert env['CUDA available'] == torch.cuda.is_available()
    assert env['NumPy'] == np.__version__
    from mmengine.version import __version__
    assert env['MMEngine'] == __version__
    if torch.cuda.is_available():
        assert 'CUDA_HOME' in env and any(k.startswith('GPU ') for k in env)


def test_collect_env_without_tools(monkeypatch):
    monkeypatch.setenv('PATH', '/nonexistent')
    env = collect_env()
    assert env['GCC'] == 'n/a'


def test_norm_helpers():
    assert is_norm(nn.GroupNorm(1, 2)) and is_norm(nn.LayerNorm(2)) and is_norm(
        nn.InstanceNorm2d(2))
    assert not is_norm(nn.Linear(1, 1))
    assert not is_norm(nn.BatchNorm1d(2), exclude=(nn.BatchNorm1d, nn.GroupNorm))
    with pytest.raises(TypeError):
        is_norm(nn.BatchNorm1d(2), exclude='bn')
    assert has_batch_norm(nn.Sequential(nn.Linear(1, 1), nn.Sequential(nn.BatchNorm1d(1))))
    assert not has_batch_norm(nn.Sequential(nn.Linear(1, 1), nn.LayerNorm(1)))


def test_tensor2imgs():
    tensor = torch.zeros(1, 3, 2, 2)
    tensor[:, 0] = 1.0  # red channel, normalized
    imgs = tensor2imgs(tensor, mean=(100, 0, 0), std=(50, 1, 1))
    assert imgs[0].shape == (2, 2, 3) and imgs[0].dtype == np.uint8
    assert imgs[0][0, 0].tolist() == [0, 0, 150]  # BGR: red is last
    assert tensor2imgs(tensor, mean=(100, 0, 0), std=(50, 1, 1), to_bgr=False)[0][0, 0,
                                                                                0] == 150
    gray = tensor2imgs(torch.full((2, 1, 3, 3), 300.0))
    assert len(gray) == 2 and gray[0].shape == (3, 3, 1) and gray[0].max() == 255
    with pytest.raises(ValueError, match='shape'):
        tensor2imgs(torch.zeros(3, 2, 2))
    with pytest.raises(ValueError, match='mean and std'):
        tensor2imgs(torch.zeros(1, 3, 2, 2), mean=(0, 0))


@pytest.mark.filterwarnings('ignore::DeprecationWarning')
def test_torch_ops_and_trace():
    xs, ys = torch_meshgrid(torch.arange(2), torch.arange(3))
    assert xs.shape == (2, 3) and ys[1].tolist() == [0, 1, 2]
    assert not is_jit_tracing()
    seen = []

    def fn(x):
        seen.append(is_jit_tracing())
        return x + 1

    torch.jit.trace(fn, torch.zeros(1), check_trace=False)
    assert seen == [True]
    assert isinstance(mmcv_full_available(), bool)


def test_set_multi_processing(monkeypatch):
    previous = mp.get_start_method(allow_none=True)
    monkeypatch.delenv('OMP_NUM_THREADS', raising=False)
    monkeypatch.setenv('MKL_NUM_THREADS', '4')
    try:
        with pytest.warns(UserWarning, match='OMP_NUM_THREADS'):
            set_multi_processing(mp_start_method='spawn', distributed=True)
        assert mp.get_start_method() == 'spawn'
        assert os.environ['OMP_NUM_THREADS'] == '1' and os.environ['MKL_NUM_THREADS'] == '4'
    finally:
        mp.set_start_method(previous, force=True)


def test_time_counter(monkeypatch):
    records = []
    monkeypatch.setattr('mmengine.logging.print_log',
                        lambda msg, logger=None, level=logging.INFO: records.append(msg))

    @TimeCounter(log_interval=2, warmup_interval=1, with_sync=False)
    def work():
        return 5

    assert [work() for _ in range(5)] == [5] * 5
    # run 1 is warm-up; runs 2-5 are measured and logged every 2 runs
    assert len(records) == 2 and records[0].startswith('[work]-time per run averaged in the '
                                                       'past 2 runs:')
    shared = TimeCounter(tag='block_tc_test', with_sync=False)
    assert TimeCounter(tag='block_tc_test') is shared
    for _ in range(2):
        with shared:
            pass
    assert len(records) == 3 and records[-1].startswith('[block_tc_test]')
    TimeCounter.instance_dict.pop('block_tc_test')
    with pytest.raises(RuntimeError, match='tag'):
        with TimeCounter():
            pass


def test_fake_run_records_schedules():
    pytest.importorskip('mmengine.runner')
    from mmengine.config import Config
    from mmengine.logging import MessageHub
    from mmengine.utils.dl_utils.visualize import ToyModel, fake_run

    class Data(torch.utils.data.Dataset):

        def __len__(self):
            return 4

        def __getitem__(self, idx):
            return torch.zeros(1)

    cfg = Config(dict(
        work_dir='work_dir', model=dict(type='Unused'), val_cfg=dict(),
        train_dataloader=dict(dataset=Data(), batch_size=2,
                              sampler=dict(type='DefaultSampler', shuffle=False)),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9)),
        param_scheduler=dict(type='MultiStepLR', milestones=[1], gamma=0.1),
        train_cfg=dict(by_epoch=True, max_epochs=2, val_interval=5),
        default_hooks=dict(checkpoint=None)))
    fake_run(cfg)
    lrs = MessageHub.get_current_instance().get_scalar('train/lr').data[0]
    assert np.allclose(lrs, [0.1, 0.1, 0.01, 0.01])
    assert isinstance(cfg['model'], ToyModel)


@pytest.mark.gpu
def test_cuda_paths():
    env = collect_env()
    assert env['CUDA available'] is True
    gpu_ids = [key[4:] for key in env if key.startswith('GPU ')]
    assert sorted(int(i) for ids in gpu_ids for i in ids.split(',')) == list(
        range(torch.cuda.device_count()))
    assert 'CUDA_HOME' in env
    imgs = tensor2imgs(torch.ones(1, 3, 2, 2, device='cuda'), mean=(1, 2, 3))
    assert imgs[0][0, 0].tolist() == [4, 3, 2]
    counter = TimeCounter(tag='cuda_tc_test', warmup_interval=1)
    with counter:
        torch.ones(8, device='cuda').sum()
    TimeCounter.instance_dict.pop('cuda_tc_test')
