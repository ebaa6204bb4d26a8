"""``FlexibleRunner``: the Runner with the training strategy chosen by the config.

The Runner already delegates model wrapping and checkpoint input/output to a strategy
(``SingleDeviceStrategy`` or ``DDPStrategy``, picked from the launcher). ``FlexibleRunner``
only lets the user pick it, so every other behaviour is the Runner's own code.
"""
from __future__ import annotations

import copy
from typing import Any

import torch.nn as nn

from .._strategy import BaseStrategy
from ..registry import RUNNERS, STRATEGIES
from .runner import Runner


@RUNNERS.register_module()
class FlexibleRunner(Runner):
    """A Runner driven by a strategy: ``SingleDeviceStrategy``, ``DDPStrategy``,
    ``FSDPStrategy`` or any class registered in ``STRATEGIES``.

    It takes the Runner's arguments plus ``strategy``; ``FlexibleRunner.from_cfg(cfg)`` reads
    ``cfg.strategy``. Sharding strategies change the parameters, so the optimizer is built
    after the model is wrapped, as the Runner always does (lazily, in ``train()``).

    Args:
        model: As for :class:`Runner`.
        work_dir: As for :class:`Runner`.
        *args: The remaining positional arguments of :class:`Runner`.
        strategy: A strategy or its config, e.g. ``dict(type='FSDPStrategy',
            mixed_precision=dict(param_dtype='bfloat16'))``. None takes ``cfg['strategy']``
            when the config has one, else the Runner's choice: ``DDPStrategy`` under a
            launcher, ``SingleDeviceStrategy`` otherwise.
        **kwargs: The remaining keyword arguments of :class:`Runner`.

    Examples:
        >>> # torchrun --nproc_per_node=8 train.py, with launcher='pytorch' in the config
        >>> runner = FlexibleRunner.from_cfg(cfg)  # doctest: +SKIP
        >>> runner.strategy  # doctest: +SKIP
        FSDPStrategy(reshard_after_forward=True, ...)
    """

    def __init__(self, model: nn.Module | dict, work_dir: str, *args: Any,
                 strategy: BaseStrategy | dict | None = None, **kwargs: Any) -> None:
        cfg = kwargs.get('cfg')
        if strategy is None and cfg is not None:
            strategy = cfg.get('strategy')
        if strategy is not None and not isinstance(strategy, (BaseStrategy, dict)):
            raise TypeError(f'strategy must be a BaseStrategy, a config dict or None, but got '
                            f'{type(strategy).__name__}: {strategy!r}.')
        self._strategy_cfg = strategy
        super().__init__(model, work_dir, *args, **kwargs)

    @property
    def strategy(self) -> BaseStrategy:
        """The strategy that wraps the model and reads and writes checkpoints."""
        return self._strategy

    def _build_strategy(self) -> BaseStrategy:
        if self._strategy_cfg is None:
            return super()._build_strategy()
        if isinstance(self._strategy_cfg, BaseStrategy):
            return self._strategy_cfg
        strategy = STRATEGIES.build(copy.deepcopy(dict(self._strategy_cfg)))
        self.logger.info(f'Training strategy: {strategy!r}')
        return strategy


__all__ = ['FlexibleRunner']
