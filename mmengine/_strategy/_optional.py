"""Strategies backed by optional packages: importable always, usable when installed."""
from __future__ import annotations

import importlib.util
from typing import Any

from .base import BaseStrategy


class OptionalPackageStrategy(BaseStrategy):
    """A strategy that needs ``package``; constructing it without the package fails clearly."""

    package = ''
    install = ''

    def __init__(self, **kwargs: Any) -> None:
        if importlib.util.find_spec(self.package) is None:
            raise ImportError(f'{type(self).__name__} needs the {self.package!r} package, which '
                              f'is not installed; install it with `{self.install}`, or use '
                              f"strategy=dict(type='FSDPStrategy') / 'DDPStrategy'.")
        raise NotImplementedError(
            f'{type(self).__name__} is not implemented in this version of mmengine; '
            f"use strategy=dict(type='FSDPStrategy') for sharded training.")


__all__ = ['OptionalPackageStrategy']
