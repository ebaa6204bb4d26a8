"""SyncBuffersHook: average model buffers (e.g. BatchNorm statistics) across ranks."""
from __future__ import annotations

from typing import Any

from mmengine.registry import HOOKS

from .hook import Hook


@HOOKS.register_module()
class SyncBuffersHook(Hook):
    """All-reduce (mean) every floating buffer of the model at the end of each train epoch.

    Ranks see different data, so their BatchNorm running statistics drift apart; averaging
    them keeps evaluation and checkpoints consistent. Also done before validation when it
    runs mid-epoch (iteration-based training). A no-op when not distributed.
    """

    priority = 'NORMAL'

    def __init__(self) -> None:
        self._synced_at_iter: int | None = None

    def _sync(self, runner: Any) -> None:
        from mmengine.dist import all_reduce, get_world_size
        world_size = get_world_size()
        if world_size <= 1:
            return
        for buffer in runner.model.buffers():
            if buffer.is_floating_point():
                all_reduce(buffer, op='sum')
                buffer.div_(world_size)

    def after_train_epoch(self, runner: Any) -> None:
        """Average the buffers across ranks."""
        self._sync(runner)
        self._synced_at_iter = runner.iter

    def before_val_epoch(self, runner: Any) -> None:
        """Synchronize before validating when training moved the buffers since the last sync."""
        if self._synced_at_iter != runner.iter:
            self._sync(runner)
            self._synced_at_iter = runner.iter
