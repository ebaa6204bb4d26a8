"""Per-sample random augmentations of a whole N x C x H x W batch, run on the batch's device.

Doing random crops and flips on the accelerator, after the (uint8) batch has been copied
there, takes that work off the data-loading workers. Every sample gets its own random draw,
as a per-image transform would give it, but the batch is processed by a few vectorized ops:
no per-sample Python loop, no ``.item()``, no Python branch on tensor values, and the random
numbers are drawn on the batch's device from its global generator. So nothing synchronizes
the host with the device, and ``randomness=dict(seed=...)`` (``torch.manual_seed``) makes
the augmentations reproducible.

Both modules accept uint8 and floating-point batches and return a batch of the same dtype and
memory format (``torch.channels_last`` in, ``torch.channels_last`` out).
"""
from __future__ import annotations

from collections.abc import Sequence
from numbers import Real

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmengine.registry import MODELS

_DIRECTIONS = {'horizontal': -1, 'vertical': -2}


@MODELS.register_module()
class BatchRandomFlip(nn.Module):
    """Flip each sample of a batch independently with probability ``prob``.

    Args:
        prob: Probability of flipping a sample, in [0, 1]. 0 makes the module a no-op.
        direction: ``'horizontal'`` (mirror left-right, along the width) or ``'vertical'``
            (upside down, along the height).

    Raises:
        TypeError: If ``prob`` is not a real number.
        ValueError: If ``prob`` is outside [0, 1] or ``direction`` is unknown.

    Examples:
        >>> flip = BatchRandomFlip(prob=1.0)
        >>> x = torch.arange(4, dtype=torch.uint8).view(1, 1, 1, 4)
        >>> flip(x).flatten().tolist()
        [3, 2, 1, 0]
    """

    def __init__(self, prob: float = 0.5, direction: str = 'horizontal') -> None:
        super().__init__()
        if isinstance(prob, bool) or not isinstance(prob, Real):
            raise TypeError(f'BatchRandomFlip: prob must be a number in [0, 1], but got '
                            f'{type(prob).__name__} {prob!r}.')
        if not 0 <= prob <= 1:
            raise ValueError(f'BatchRandomFlip: prob must be in [0, 1], but got {prob!r}.')
        if direction not in _DIRECTIONS:
            raise ValueError(f'BatchRandomFlip: direction must be one of '
                             f'{sorted(_DIRECTIONS)}, but got {direction!r}.')
        self.prob = float(prob)
        self.direction = direction

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Return ``inputs`` with a random subset of its samples flipped."""
        _check_batch(inputs, type(self).__name__)
        if self.prob == 0:
            return inputs
        dim = _DIRECTIONS[self.direction]
        n, size = inputs.shape[0], inputs.shape[dim]
        flip = torch.rand(n, 1, device=inputs.device) < self.prob
        if _is_channels_last(inputs):
            # A gather over the N x H x W x C layout is slow (C is tiny and innermost);
            # where() keeps channels_last and is one pass over the data on the device.
            return torch.where(flip.view(n, 1, 1, 1), inputs.flip(dim), inputs)
        # Contiguous layout: one gather along the flipped axis with a per-sample index.
        positions = torch.arange(size, device=inputs.device)
        index = torch.where(flip, positions.flip(0), positions)  # N x size
        shape = [n, 1, 1, 1]
        shape[dim] = size
        return inputs.gather(dim % 4, index.view(shape).expand(inputs.shape))

    def extra_repr(self) -> str:
        return f'prob={self.prob}, direction={self.direction!r}'


@MODELS.register_module()
class BatchRandomCrop(nn.Module):
    """Pad every sample, then crop an independently placed random window from each.

    Per sample, this is what ``torchvision.transforms.RandomCrop(size, padding)`` does to one
    image: the window's top-left corner is drawn uniformly among all positions where it fits
    inside the padded image.

    Args:
        size: Output height and width: an int for a square, or ``(height, width)``.
        padding: Pixels added on each border before cropping: an int for all four sides,
            ``(left/right, top/bottom)`` or ``(left, top, right, bottom)``.
        pad_value: Value of the padded pixels, in the units of the batch it is applied to
            (raw pixel values when used in ``ImgDataPreprocessor``'s ``batch_augments``).

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If ``size`` is not positive or ``padding`` is negative or malformed.

    Examples:
        >>> crop = BatchRandomCrop(32, padding=4)
        >>> crop(torch.zeros(8, 3, 32, 32, dtype=torch.uint8)).shape
        torch.Size([8, 3, 32, 32])
    """

    def __init__(self, size: int | Sequence[int], padding: int | Sequence[int] = 0,
                 pad_value: float | int = 0) -> None:
        super().__init__()
        self.size = _pair_of_ints(size, 'size', minimum=1)
        self.padding = _four_paddings(padding)
        if isinstance(pad_value, bool) or not isinstance(pad_value, Real):
            raise TypeError(f'BatchRandomCrop: pad_value must be a number, but got '
                            f'{type(pad_value).__name__} {pad_value!r}.')
        self.pad_value = pad_value

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Return one randomly placed ``size`` window of each padded sample."""
        _check_batch(inputs, type(self).__name__)
        left, top, right, bottom = self.padding
        (out_h, out_w), (in_h, in_w) = self.size, inputs.shape[-2:]
        padded_h, padded_w = in_h + top + bottom, in_w + left + right
        if out_h > padded_h or out_w > padded_w:
            raise ValueError(f'BatchRandomCrop: the crop size {self.size} is larger than the '
                             f'padded images ({padded_h}, {padded_w}) (input shape '
                             f'{tuple(inputs.shape)}, padding {self.padding}); use a '
                             f'smaller size or more padding.')
        if (out_h, out_w, padded_h, padded_w) == (in_h, in_w, in_h, in_w):
            return inputs  # the only window is the image itself
        padded = inputs
        if any(self.padding):
            padded = F.pad(inputs, (left, right, top, bottom), value=self.pad_value)
        n, device = inputs.shape[0], inputs.device
        top_offsets = torch.randint(0, padded_h - out_h + 1, (n,), device=device)
        left_offsets = torch.randint(0, padded_w - out_w + 1, (n,), device=device)
        if _is_channels_last(inputs):
            return _crop_channels_last(padded, top_offsets, left_offsets, self.size)
        return _crop_contiguous(padded, top_offsets, left_offsets, self.size)

    def extra_repr(self) -> str:
        return f'size={self.size}, padding={self.padding}, pad_value={self.pad_value}'


def _crop_contiguous(padded: torch.Tensor, top: torch.Tensor, left: torch.Tensor,
                     size: tuple[int, int]) -> torch.Tensor:
    """Crop per-sample windows of an N x C x H x W batch with one gather over H * W."""
    n, channels, _, width = padded.shape
    out_h, out_w = size
    rows = top.view(n, 1, 1) + torch.arange(out_h, device=padded.device).view(1, out_h, 1)
    cols = left.view(n, 1, 1) + torch.arange(out_w, device=padded.device).view(1, 1, out_w)
    index = (rows * width + cols).view(n, 1, out_h * out_w).expand(n, channels, -1)
    flat = padded.reshape(n, channels, -1)
    return flat.gather(2, index).view(n, channels, out_h, out_w)


def _crop_channels_last(padded: torch.Tensor, top: torch.Tensor, left: torch.Tensor,
                        size: tuple[int, int]) -> torch.Tensor:
    """Crop per-sample windows of a channels_last batch, keeping channels_last.

    The N x H x W x C storage is viewed as every window position's out_h x out_w x C
    window (``unfold`` makes views, no copy); indexing it with the per-sample offsets
    copies just the chosen windows, already in channels_last order.
    """
    out_h, out_w = size
    windows = padded.permute(0, 2, 3, 1).unfold(1, out_h, 1).unfold(2, out_w, 1)
    windows = windows.permute(0, 1, 2, 4, 5, 3)  # N x rows x cols x out_h x out_w x C
    samples = torch.arange(padded.shape[0], device=padded.device)
    return windows[samples, top, left].permute(0, 3, 1, 2)


def _is_channels_last(inputs: torch.Tensor) -> bool:
    # A batch with C == 1 or H == W == 1 is contiguous in both senses: keep the plain path.
    return (inputs.is_contiguous(memory_format=torch.channels_last)
            and not inputs.is_contiguous())


def _check_batch(inputs: object, name: str) -> None:
    if not isinstance(inputs, torch.Tensor):
        raise TypeError(f'{name} expects an N x C x H x W tensor, but got '
                        f'{type(inputs).__name__}.')
    if inputs.dim() != 4:
        raise ValueError(f'{name} expects an N x C x H x W tensor, but got shape '
                         f'{tuple(inputs.shape)}; stack the images into one batch first.')


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _int_tuple(value: object, lengths: tuple[int, ...]) -> tuple[int, ...] | None:
    """``value`` as a tuple if it is an int or a sequence of ints of an allowed length."""
    if _is_int(value):
        return (value,)  # type: ignore[return-value]
    if (isinstance(value, Sequence) and not isinstance(value, str) and len(value) in lengths
            and all(_is_int(v) for v in value)):
        return tuple(value)
    return None


def _pair_of_ints(value: object, name: str, minimum: int) -> tuple[int, int]:
    """``value`` (an int or a sequence of two ints, each >= minimum) as a pair."""
    items = _int_tuple(value, (2,))
    if items is None:
        raise TypeError(f'BatchRandomCrop: {name} must be an int or a sequence of two ints, '
                        f'but got {value!r}.')
    if min(items) < minimum:
        raise ValueError(f'BatchRandomCrop: {name} must be >= {minimum}, but got {value!r}.')
    return items[0], items[-1]


def _four_paddings(padding: object) -> tuple[int, int, int, int]:
    """``padding`` as (left, top, right, bottom), accepting torchvision's three forms."""
    items = _int_tuple(padding, (2, 4))
    if items is None:
        raise TypeError(f'BatchRandomCrop: padding must be an int, (left/right, top/bottom) '
                        f'or (left, top, right, bottom) ints, but got {padding!r}.')
    if min(items) < 0:
        raise ValueError(f'BatchRandomCrop: padding must be >= 0, but got {padding!r}.')
    left, top, right, bottom = items * (4 // len(items))
    return left, top, right, bottom
