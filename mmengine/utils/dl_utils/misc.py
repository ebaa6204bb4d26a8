"""Small torch helpers: norm-layer checks, tensor to image conversion, mmcv detection."""
from __future__ import annotations

from importlib.util import find_spec

import numpy as np
import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.instancenorm import _InstanceNorm

_NORM_TYPES = (_BatchNorm, _InstanceNorm, nn.GroupNorm, nn.LayerNorm)


def is_norm(layer: nn.Module, exclude: type | tuple[type, ...] | None = None) -> bool:
    """Return whether ``layer`` is a normalization layer (batch, instance, group or layer norm).

    Args:
        layer: The module to check.
        exclude: Norm types that do not count.

    Raises:
        TypeError: ``exclude`` is not a type or a tuple of types.

    Examples:
        >>> is_norm(nn.BatchNorm2d(3)), is_norm(nn.Conv2d(3, 3, 1))
        (True, False)
        >>> is_norm(nn.BatchNorm2d(3), exclude=nn.BatchNorm2d)
        False
    """
    if exclude is not None:
        if not isinstance(exclude, tuple):
            exclude = (exclude, )
        if not all(isinstance(t, type) for t in exclude):
            raise TypeError(f'"exclude" must be a type or a tuple of types, got {exclude!r}')
        if isinstance(layer, exclude):
            return False
    return isinstance(layer, _NORM_TYPES)


def tensor2imgs(tensor: torch.Tensor, mean: tuple[float, ...] | None = None,
                std: tuple[float, ...] | None = None, to_bgr: bool = True) -> list[np.ndarray]:
    """Convert a batch of normalized images (N, C, H, W) into a list of uint8 HWC arrays.

    Args:
        tensor: Images with 1 or 3 channels.
        mean: Per-channel mean that was subtracted (default 0).
        std: Per-channel std the images were divided by (default 1).
        to_bgr: Reverse RGB channels to BGR (3-channel images only).

    Raises:
        ValueError: the tensor is not 4-D with 1 or 3 channels, or mean/std lengths differ.

    Examples:
        >>> imgs = tensor2imgs(torch.zeros(2, 3, 4, 5))
        >>> len(imgs), imgs[0].shape, imgs[0].dtype
        (2, (4, 5, 3), dtype('uint8'))
    """
    if tensor.ndim != 4 or tensor.size(1) not in (1, 3):
        raise ValueError(f'tensor must have shape (N, C, H, W) with C 1 or 3, got '
                         f'{tuple(tensor.shape)}')
    channels = tensor.size(1)
    mean = (0, ) * channels if mean is None else mean
    std = (1, ) * channels if std is None else std
    if len(mean) != channels or len(std) != channels:
        raise ValueError(f'mean and std need {channels} values, got {mean} and {std}')
    mean_t = tensor.new_tensor(mean).view(1, -1, 1, 1)
    std_t = tensor.new_tensor(std).view(1, -1, 1, 1)
    images = (tensor.detach() * std_t + mean_t).permute(0, 2, 3, 1).cpu().numpy()
    if to_bgr and channels == 3:
        images = images[..., ::-1]
    return [np.ascontiguousarray(img.clip(0, 255).astype(np.uint8)) for img in images]


def has_batch_norm(model: nn.Module) -> bool:
    """Return whether ``model`` contains a batch norm layer."""
    return any(isinstance(m, _BatchNorm) for m in model.modules())


def mmcv_full_available() -> bool:
    """Return whether mmcv is installed with its compiled operators (``mmcv._ext``)."""
    try:
        return find_spec('mmcv._ext') is not None
    except (ImportError, ValueError):
        return False
