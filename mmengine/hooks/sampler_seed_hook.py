"""DistSamplerSeedHook: give the training sampler the epoch so each epoch shuffles anew."""
from __future__ import annotations

from typing import Any

from mmengine.registry import HOOKS

from .hook import Hook


@HOOKS.register_module()
class DistSamplerSeedHook(Hook):
    """Call ``set_epoch(runner.epoch)`` on the train dataloader's sampler before each epoch.

    Distributed samplers derive their shuffle order from ``seed + epoch``; without this every
    epoch would see the same order. The sampler is looked up on the dataloader and, failing
    that, on its batch sampler.
    """

    priority = 'NORMAL'

    def before_train_epoch(self, runner: Any) -> None:
        """Set the epoch on the sampler (and the batch sampler's sampler) when supported."""
        loader = runner.train_loop.dataloader
        candidates = [getattr(loader, 'sampler', None)]
        batch_sampler = getattr(loader, 'batch_sampler', None)
        candidates.append(getattr(batch_sampler, 'sampler', None))
        for sampler in candidates:
            if hasattr(sampler, 'set_epoch'):
                sampler.set_epoch(runner.epoch)
                return
