"""``autocast``: mixed precision for whatever device the model is on."""
from __future__ import annotations

from collections.abc import Generator
from contextlib import contextmanager

import torch

from ..device import get_device


@contextmanager
def autocast(device_type: str | None = None, dtype: torch.dtype | None = None,
             enabled: bool = True, cache_enabled: bool | None = None
             ) -> Generator[None, None, None]:
    """Enable ``torch.autocast`` for a device type (default: the current device).

    Unlike ``torch.cuda.amp.autocast`` this works for CPU, CUDA, MPS and other devices torch
    supports. ``enabled=False`` disables autocast inside the block.

    Args:
        device_type: ``'cuda'``, ``'cpu'``, ``'mps'``, ... Defaults to :func:`get_device`.
        dtype: The low-precision dtype; torch's default for the device when None (float16 on
            CUDA, bfloat16 on CPU).
        enabled: Whether to enable autocast.
        cache_enabled: Whether to cache casted weights inside the block.
    """
    if device_type is None:
        device_type = get_device()
    if device_type not in ('cuda', 'cpu', 'mps', 'xpu', 'npu', 'mlu', 'musa', 'hpu', 'xla'):
        raise ValueError(f'autocast does not support device_type {device_type!r}.')
    kwargs: dict = {'enabled': enabled}
    if dtype is not None:
        kwargs['dtype'] = dtype
    if cache_enabled is not None:
        kwargs['cache_enabled'] = cache_enabled
    with torch.autocast(device_type=device_type, **kwargs):
        yield
