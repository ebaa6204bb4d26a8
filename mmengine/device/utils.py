"""Which accelerator this process can use, detected once and cached."""
from __future__ import annotations

import functools
import importlib.util
from typing import Any

import torch

# torch_npu reports its chip generation as a number; 220+ (Ascend 910B) computes in fp32.
_NPU_FULL_PRECISION_SOC = 220


def _has_module(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


@functools.cache
def is_cuda_available() -> bool:
    """Whether a CUDA device is available."""
    return torch.cuda.is_available()


@functools.cache
def is_npu_available() -> bool:
    """Whether an Ascend NPU is available (needs ``torch_npu``)."""
    if not _has_module('torch_npu'):
        return False
    import torch_npu  # noqa: F401  (registers torch.npu)
    return hasattr(torch, 'npu') and torch.npu.is_available()


@functools.cache
def is_mlu_available() -> bool:
    """Whether a Cambricon MLU is available."""
    return bool(getattr(torch, 'is_mlu_available', lambda: False)())


@functools.cache
def is_mps_available() -> bool:
    """Whether Apple's MPS backend is available."""
    mps = getattr(torch.backends, 'mps', None)
    return mps is not None and mps.is_available()


@functools.cache
def is_dipu_available() -> bool:
    """Whether DeepLink's DIPU is available (``torch_dipu`` installed)."""
    return _has_module('torch_dipu')


@functools.cache
def is_musa_available() -> bool:
    """Whether a Moore Threads MUSA device is available (needs ``torch_musa``)."""
    if not _has_module('torch_musa'):
        return False
    import torch_musa  # noqa: F401  (registers torch.musa)
    return hasattr(torch, 'musa') and torch.musa.is_available()


@functools.cache
def is_npu_support_full_precision() -> bool:
    """Whether the NPU computes in full precision (Ascend 910B and later)."""
    if not is_npu_available():
        return False
    import torch_npu
    return torch_npu._C._npu_get_soc_version() >= _NPU_FULL_PRECISION_SOC


def _peak_memory_mb(module: Any, device: Any) -> int:
    """Peak allocated memory in MiB since the last call, then reset the peak."""
    peak = module.max_memory_allocated(device=device)
    module.reset_peak_memory_stats(device)
    return int(peak) // (1024 * 1024)


def get_max_cuda_memory(device: torch.device | int | str | None = None) -> int:
    """Peak CUDA memory allocated (MiB) since the previous call; 0 without CUDA.

    The peak counter is reset, so each call reports the peak of the interval since the last
    one. It does not synchronize the device.
    """
    if not is_cuda_available():
        return 0
    return _peak_memory_mb(torch.cuda, device)


def get_max_musa_memory(device: torch.device | int | str | None = None) -> int:
    """Peak MUSA memory allocated (MiB) since the previous call; 0 without MUSA."""
    if not is_musa_available():
        return 0
    return _peak_memory_mb(torch.musa, device)


@functools.cache
def get_device() -> str:
    """The accelerator to use: ``'npu'``, ``'cuda'``, ``'mlu'``, ``'mps'``, ``'musa'`` or
    ``'cpu'`` (first available, in that order)."""
    checks = (('npu', is_npu_available), ('cuda', is_cuda_available),
              ('mlu', is_mlu_available), ('mps', is_mps_available),
              ('musa', is_musa_available))
    for name, available in checks:
        if available():
            return name
    return 'cpu'
