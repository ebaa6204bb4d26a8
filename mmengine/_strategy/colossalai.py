"""``ColossalAIStrategy``: importable always; constructing it needs the ``colossalai`` package."""
from __future__ import annotations

from ..registry import STRATEGIES
from ._optional import OptionalPackageStrategy


@STRATEGIES.register_module()
class ColossalAIStrategy(OptionalPackageStrategy):
    """Colossal-AI training (needs the ``colossalai`` package; not implemented here yet).

    Raises:
        ImportError: On construction, naming ``colossalai``, when it is not installed.
    """

    package, install = 'colossalai', 'pip install colossalai'


__all__ = ['ColossalAIStrategy']
