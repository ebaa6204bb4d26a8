"""Training strategies: how the model is placed, wrapped or sharded, and how its training
state is checkpointed. Registered in ``STRATEGIES`` for ``FlexibleRunner(strategy=...)``."""
from ._sharded import consolidate_checkpoint, is_sharded_checkpoint
from .base import BaseStrategy
from .colossalai import ColossalAIStrategy
from .deepspeed import DeepSpeedStrategy
from .distributed import DDPStrategy
from .fsdp import FSDPStrategy
from .single_device import SingleDeviceStrategy

__all__ = [
    'BaseStrategy', 'SingleDeviceStrategy', 'DDPStrategy', 'FSDPStrategy', 'DeepSpeedStrategy',
    'ColossalAIStrategy', 'consolidate_checkpoint', 'is_sharded_checkpoint'
]
