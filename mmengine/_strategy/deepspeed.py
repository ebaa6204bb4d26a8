"""``DeepSpeedStrategy``: importable always; constructing it needs the ``deepspeed`` package."""
from __future__ import annotations

from ..registry import STRATEGIES
from ._optional import OptionalPackageStrategy


@STRATEGIES.register_module()
class DeepSpeedStrategy(OptionalPackageStrategy):
    """DeepSpeed ZeRO training (needs the ``deepspeed`` package; not implemented here yet).

    Raises:
        ImportError: On construction, naming ``deepspeed``, when it is not installed.
    """

    package, install = 'deepspeed', 'pip install deepspeed'


__all__ = ['DeepSpeedStrategy']
