"""Wrappers of torch operators with version-independent behaviour."""
from __future__ import annotations

import torch


def torch_meshgrid(*tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """``torch.meshgrid`` with matrix (``'ij'``) indexing, without the deprecation warning.

    Examples:
        >>> xs, ys = torch_meshgrid(torch.arange(2), torch.arange(3))
        >>> tuple(xs.shape)
        (2, 3)
    """
    return torch.meshgrid(*tensors, indexing='ij')
