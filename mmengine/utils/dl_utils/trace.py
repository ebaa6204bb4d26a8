"""Detect TorchScript tracing."""
from __future__ import annotations

import torch


def is_jit_tracing() -> bool:
    """Return whether the code runs under ``torch.jit.trace``."""
    return torch.jit.is_tracing()
