"""FlexibleRunner: the Runner driven by a training strategy (completed by the distributed
issue; for now it accepts ``strategy`` and otherwise behaves as the Runner)."""
from __future__ import annotations

from typing import Any

from ..registry import RUNNERS
from .runner import Runner


@RUNNERS.register_module()
class FlexibleRunner(Runner):
    """A Runner that takes a ``strategy`` config (``DDPStrategy``, ``FSDPStrategy``, ...).

    Args:
        strategy: The strategy config. Only single-process and DDP semantics are available
            yet; they follow the Runner's ``launcher`` handling.
        **kwargs: The Runner's arguments.
    """

    def __init__(self, *args: Any, strategy: dict | None = None, **kwargs: Any) -> None:
        self.strategy_cfg = dict(strategy or {})
        super().__init__(*args, **kwargs)
