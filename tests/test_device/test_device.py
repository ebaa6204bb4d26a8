from __future__ import annotations

import pytest
import torch

import mmengine.device as device
from mmengine.device import utils

_CACHED = (utils.is_cuda_available, utils.is_npu_available, utils.is_mlu_available,
           utils.is_mps_available, utils.is_musa_available, utils.is_dipu_available,
           utils.is_npu_support_full_precision, utils.get_device)


@pytest.fixture
def fresh_cache():
    for fn in _CACHED:
        fn.cache_clear()
    yield
    for fn in _CACHED:
        fn.cache_clear()


def test_availability_matches_torch(fresh_cache):
    assert device.is_cuda_available() == torch.cuda.is_available()
    assert device.is_mps_available() == torch.backends.mps.is_available()
    for fn in (device.is_npu_available, device.is_mlu_available, device.is_musa_available,
               device.is_dipu_available, device.is_npu_support_full_precision):
        assert isinstance(fn(), bool)
    expected = 'cuda' if torch.cuda.is_available() else 'cpu'
    if not torch.cuda.is_available() and torch.backends.mps.is_available():
        expected = 'mps'
    assert device.get_device() == expected


def test_get_device_order_and_cache(fresh_cache, monkeypatch):
    calls = []

    def fake_cuda():
        calls.append(1)
        return True

    monkeypatch.setattr(torch.cuda, 'is_available', fake_cuda)
    monkeypatch.setattr(utils, 'is_npu_available', lambda: False)
    assert device.get_device() == 'cuda'
    assert device.get_device() == 'cuda' and device.is_cuda_available()
    assert len(calls) == 1  # detected once, then cached
    utils.get_device.cache_clear()
    monkeypatch.setattr(utils, 'is_npu_available', lambda: True)
    assert device.get_device() == 'npu'


def test_cpu_when_nothing_is_available(fresh_cache, monkeypatch):
    for name in ('is_npu_available', 'is_cuda_available', 'is_mlu_available',
                 'is_mps_available', 'is_musa_available'):
        monkeypatch.setattr(utils, name, lambda: False)
    assert device.get_device() == 'cpu'
    assert device.get_max_cuda_memory() == 0 and device.get_max_musa_memory() == 0


def test_max_cuda_memory_resets_the_peak(fresh_cache, monkeypatch):
    resets = []
    monkeypatch.setattr(utils, 'is_cuda_available', lambda: True)
    monkeypatch.setattr(torch.cuda, 'max_memory_allocated', lambda device=None: 5 * 2**20 + 7)
    monkeypatch.setattr(torch.cuda, 'reset_peak_memory_stats', resets.append)
    assert device.get_max_cuda_memory('cuda:0') == 5
    assert resets == ['cuda:0']


@pytest.mark.gpu
def test_real_cuda_memory():
    x = torch.ones(1024, 1024, device='cuda')
    assert device.get_max_cuda_memory() >= 4
    del x
