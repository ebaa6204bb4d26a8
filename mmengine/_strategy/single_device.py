"""``SingleDeviceStrategy``: one process, the model on the current device, unwrapped."""
from __future__ import annotations

import torch.nn as nn

from ..device import get_device
from ..logging import print_log
from ..model import revert_sync_batchnorm
from ..registry import STRATEGIES
from .base import BaseStrategy


@STRATEGIES.register_module()
class SingleDeviceStrategy(BaseStrategy):
    """Train in one process on one device (CUDA, MPS, NPU, ... or the CPU).

    The model moves to :func:`mmengine.device.get_device`; ``SyncBatchNorm`` layers become
    plain batch norms (they need a process group); a ``model_wrapper_cfg`` is ignored with a
    log line, since there is nothing to wrap for.
    """

    def wrap_model(self, model: nn.Module, model_wrapper_cfg: dict | None = None) -> nn.Module:
        """Move ``model`` to the device; SyncBN reverts to BN."""
        if self.check_unwrapped(model, model_wrapper_cfg):
            return model
        if model_wrapper_cfg is not None:
            print_log(f'model_wrapper_cfg={model_wrapper_cfg!r} is ignored: training is not '
                      f'distributed (launcher="none").', logger='current')
        return revert_sync_batchnorm(model.to(get_device()))


__all__ = ['SingleDeviceStrategy']
