"""BaseLoop: the abstract loop the Runner drives."""
from __future__ import annotations

from abc import ABCMeta, abstractmethod
from typing import TYPE_CHECKING, Any

from torch.utils.data import DataLoader

if TYPE_CHECKING:
    from .runner import Runner


class BaseLoop(metaclass=ABCMeta):
    """Base class of training, validation and test loops.

    Args:
        runner: The runner that owns the loop.
        dataloader: A built ``DataLoader`` or a config dict the runner builds (seeded with the
            runner's seed).
    """

    def __init__(self, runner: Runner, dataloader: DataLoader | dict) -> None:
        self._runner = runner
        if isinstance(dataloader, dict):
            diff_rank_seed = runner._randomness_cfg.get('diff_rank_seed', False)
            dataloader = runner.build_dataloader(dataloader, seed=runner.seed,
                                                 diff_rank_seed=diff_rank_seed)
        self.dataloader = dataloader

    @property
    def runner(self) -> Runner:
        """The runner that owns the loop."""
        return self._runner

    @abstractmethod
    def run(self) -> Any:
        """Execute the loop."""
