"""``PixelData``: per-pixel fields (segmentation maps, heatmaps) of shape C x H x W."""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .base_data_element import _PRIVATE, BaseDataElement


class PixelData(BaseDataElement):
    """Pixel-level data fields sharing one height and width.

    A 2-D value ``(H, W)`` is stored as ``(1, H, W)``; 3-D values are taken as ``(C, H, W)``.
    Indexing with ``[rows, cols]`` slices every field spatially.

    Examples:
        >>> pix = PixelData(metainfo=dict(img_id=1))
        >>> pix.seg = torch.zeros(4, 6)
        >>> pix.heat = np.zeros((3, 4, 6))
        >>> pix.seg.shape, pix.shape, pix[1:3, :2].shape
        (torch.Size([1, 4, 6]), (4, 6), (2, 2))
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _PRIVATE:
            super().__setattr__(name, value)
            return
        if not isinstance(value, torch.Tensor | np.ndarray):
            raise TypeError(f'PixelData field {name!r} must be a tensor or numpy array, but got '
                            f'{type(value).__name__}.')
        if value.ndim not in (2, 3):
            raise ValueError(f'PixelData field {name!r} must be 2-D (H, W) or 3-D (C, H, W), '
                             f'but got shape {tuple(value.shape)}.')
        if value.ndim == 2:
            value = value[None]
        shape = self.shape
        if shape is not None and tuple(value.shape[-2:]) != shape and self.keys() != [name]:
            # compat: MMEngine users check for AssertionError here.
            raise AssertionError(f'Field {name!r} has height and width '
                                 f'{tuple(value.shape[-2:])}, but the other fields have '
                                 f'{shape}.')
        super().__setattr__(name, value)

    __setitem__ = __setattr__

    def __getitem__(self, item: Any) -> PixelData:
        """A new PixelData with every field cropped by ``item`` (``(rows, cols)`` or rows)."""
        if isinstance(item, slice):
            item = (item, slice(None))
        if not (isinstance(item, tuple) and len(item) == 2
                and all(isinstance(i, slice) for i in item)):
            raise TypeError('PixelData indices must be a slice or a pair of slices '
                            f'(rows, cols), but got {item!r}.')
        new_data = self.__class__(metainfo=self.metainfo)
        for key, value in self.items():
            setattr(new_data, key, value[:, item[0], item[1]])
        return new_data

    @property
    def shape(self) -> tuple[int, int] | None:
        """``(H, W)`` shared by the fields, or None without fields."""
        values = self.values()
        return tuple(values[0].shape[-2:]) if values else None
