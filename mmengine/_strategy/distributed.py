"""``DDPStrategy``: data parallel training with ``DistributedDataParallel``."""
from __future__ import annotations

import copy
from typing import Any

import torch
import torch.nn as nn
from torch.nn.parallel import DistributedDataParallel

from ..device import get_device
from ..model import convert_sync_batchnorm
from ..registry import MODEL_WRAPPERS, STRATEGIES
from .base import BaseStrategy


def _cuda_device_args(wrapper_type: Any) -> dict[str, Any]:
    """This rank's CUDA device in the form the wrapper takes: DDP ``device_ids=[i]``,
    FSDP ``device_id=i``, nothing for other wrappers."""
    wrapper = MODEL_WRAPPERS.get(wrapper_type) if isinstance(wrapper_type, str) else wrapper_type
    device = torch.cuda.current_device()
    if isinstance(wrapper, type) and issubclass(wrapper, DistributedDataParallel):
        return dict(device_ids=[device])
    if 'FullySharded' in str(wrapper_type):  # registered through a lazy builder function
        return dict(device_id=device)
    return {}


@STRATEGIES.register_module()
class DDPStrategy(BaseStrategy):
    """Every rank holds the whole model; gradients are all-reduced by DDP.

    The default wrapper is ``MMDistributedDataParallel``, whose ``train_step`` runs inside
    ``optim_wrapper.optim_context`` so gradient-accumulation steps skip the all-reduce.
    Checkpoints are ordinary files written by rank 0 (every rank holds the same weights).

    Args:
        model_wrapper: Wrapper config, e.g. ``dict(type='MMDistributedDataParallel',
            find_unused_parameters=True)``; ``type`` defaults to
            ``'MMDistributedDataParallel'``, the module (and ``device_ids`` on CUDA) are
            filled in. A Runner's ``model_wrapper_cfg`` replaces it.
        sync_bn: ``'torch'`` converts every BatchNorm to ``torch.nn.SyncBatchNorm``.

    Examples:
        >>> strategy = DDPStrategy(model_wrapper=dict(find_unused_parameters=True))
        >>> strategy.model_wrapper['type']
        'MMDistributedDataParallel'
    """

    def __init__(self, *, model_wrapper: dict | None = None, sync_bn: str | None = None) -> None:
        if model_wrapper is not None and not isinstance(model_wrapper, dict):
            raise TypeError(f'model_wrapper must be a config dict or None, but got '
                            f'{type(model_wrapper).__name__}.')
        if sync_bn not in (None, 'torch'):
            raise ValueError(f"sync_bn must be 'torch' or None, but got {sync_bn!r}.")
        self.model_wrapper = copy.deepcopy(dict(model_wrapper or {}))
        self.model_wrapper.setdefault('type', 'MMDistributedDataParallel')
        self.sync_bn = sync_bn

    def wrap_model(self, model: nn.Module, model_wrapper_cfg: dict | None = None) -> nn.Module:
        """Move ``model`` to this rank's device, convert BN if asked, and wrap it."""
        if self.check_unwrapped(model, model_wrapper_cfg):
            return model
        model = model.to(get_device())
        if self.sync_bn == 'torch':
            model = convert_sync_batchnorm(model)
        cfg = copy.deepcopy(dict(model_wrapper_cfg)) if model_wrapper_cfg is not None else (
            copy.deepcopy(self.model_wrapper))
        cfg.setdefault('type', 'MMDistributedDataParallel')
        if get_device() == 'cuda':
            cfg.update({key: value for key, value in _cuda_device_args(cfg['type']).items()
                        if key not in cfg})
        return MODEL_WRAPPERS.build(cfg, default_args=dict(module=model))

    def __repr__(self) -> str:
        return f'DDPStrategy(model_wrapper={self.model_wrapper!r}, sync_bn={self.sync_bn!r})'


__all__ = ['DDPStrategy']
