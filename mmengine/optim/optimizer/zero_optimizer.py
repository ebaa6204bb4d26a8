"""ZeroRedundancyOptimizer: torch's ZeRO-1 optimizer, buildable from a config."""
from __future__ import annotations

from typing import Any

from torch.distributed.optim import ZeroRedundancyOptimizer as _ZeroRedundancyOptimizer
from torch.optim import Optimizer

from mmengine.dist import is_main_process
from mmengine.registry import OPTIMIZERS


@OPTIMIZERS.register_module(force=True)  # replaces the lazy builder of builder.py
class ZeroRedundancyOptimizer(_ZeroRedundancyOptimizer):
    """Shard the optimizer states across ranks (ZeRO stage 1) with torch's implementation.

    Each rank keeps the state of its shard of the parameters only, which cuts optimizer
    memory by the world size. Needs an initialized default process group.

    Args:
        params: The parameters (or parameter groups) to optimize.
        optimizer_type: The wrapped optimizer: a name registered in ``OPTIMIZERS`` (every
            ``torch.optim`` optimizer is) or an optimizer class.
        **kwargs: Arguments of the wrapped optimizer (``lr``, ...) and of torch's
            ``ZeroRedundancyOptimizer`` (``process_group``, ``parameters_as_bucket_view``,
            ``overlap_with_ddp``).

    Examples:
        >>> optim_wrapper = dict(optimizer=dict(type='ZeroRedundancyOptimizer',
        ...                                     optimizer_type='AdamW', lr=1e-3))
    """

    def __init__(self, params: Any, optimizer_type: str | type[Optimizer],
                 **kwargs: Any) -> None:
        optimizer_class = optimizer_type
        if isinstance(optimizer_type, str):
            optimizer_class = OPTIMIZERS.get(optimizer_type)
        if not (isinstance(optimizer_class, type) and issubclass(optimizer_class, Optimizer)):
            raise ValueError(f'optimizer_type must name an optimizer registered in OPTIMIZERS '
                             f'(e.g. "SGD", "AdamW") or be an optimizer class, but got '
                             f'{optimizer_type!r}.')
        super().__init__(params, optimizer_class, **kwargs)

    def state_dict(self) -> dict:
        """Gather the full state on rank 0 and return it there (an empty dict elsewhere).

        Every rank must call this, since gathering the shards is a collective operation.
        """
        self.consolidate_state_dict()
        return super().state_dict() if is_main_process() else {}
