"""EmptyCacheHook: release cached, unused CUDA memory at chosen points."""
from __future__ import annotations

from typing import Any

import torch

from mmengine.registry import HOOKS

from .hook import DATA_BATCH, Hook


@HOOKS.register_module()
class EmptyCacheHook(Hook):
    """Call ``torch.cuda.empty_cache()`` before/after epochs and/or after iterations.

    Applies to training, validation and testing alike; does nothing without CUDA.

    Args:
        before_epoch: Empty the cache before each epoch. Defaults to False.
        after_epoch: Empty the cache after each epoch. Defaults to True.
        after_iter: Empty the cache after each iteration. Defaults to False.
    """

    priority = 'NORMAL'

    def __init__(self, before_epoch: bool = False, after_epoch: bool = True,
                 after_iter: bool = False) -> None:
        self._do_before_epoch = before_epoch
        self._do_after_epoch = after_epoch
        self._do_after_iter = after_iter

    @staticmethod
    def _empty() -> None:
        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    def _after_iter(self, runner: Any, batch_idx: int, data_batch: DATA_BATCH = None,
                    outputs: Any = None, mode: str = 'train') -> None:
        if self._do_after_iter:
            self._empty()

    def _before_epoch(self, runner: Any, mode: str = 'train') -> None:
        if self._do_before_epoch:
            self._empty()

    def _after_epoch(self, runner: Any, mode: str = 'train') -> None:
        if self._do_after_epoch:
            self._empty()
