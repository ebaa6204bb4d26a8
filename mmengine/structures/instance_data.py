"""``InstanceData``: per-instance fields (boxes, labels, scores...) that share one length."""
from __future__ import annotations

import itertools
from collections.abc import Sized
from typing import Any

import numpy as np
import torch

from .base_data_element import _PRIVATE, BaseDataElement

IndexType = str | slice | int | list | torch.Tensor | np.ndarray


def _normalize_index(item: Any, length: int) -> Any:
    """Turn lists and numpy indices into tensors and ints into length-1 slices."""
    if isinstance(item, list):
        item = np.array(item, dtype=bool if item and isinstance(item[0], bool) else np.int64)
    if isinstance(item, np.ndarray):
        item = torch.from_numpy(item)
    if isinstance(item, int) and not isinstance(item, bool):
        if not -length <= item < length:
            raise IndexError(f'Index {item} is out of range for InstanceData of length '
                             f'{length}.')
        # A slice keeps the instance dimension, so every field stays a sequence.
        return slice(item, item + 1 if item != -1 else None)
    if isinstance(item, torch.Tensor):
        if item.dim() != 1:
            raise ValueError(f'Tensor indices must be 1-D, but got shape {tuple(item.shape)}.')
        if item.dtype == torch.bool and len(item) != length:
            raise IndexError(f'A boolean index must have length {length}, but got '
                             f'{len(item)}.')
        if item.dtype != torch.bool and (item.is_floating_point() or item.is_complex()):
            raise TypeError(f'Tensor indices must be integer or bool, but got {item.dtype}.')
        return item
    if isinstance(item, slice):
        return item
    raise TypeError('InstanceData indices must be str, int, slice, list, numpy array or tensor, '
                    f'but got {type(item).__name__}.')


def _index_value(value: Any, item: slice | torch.Tensor) -> Any:
    """``value[item]`` for tensors, arrays, lists, tuples and types that index themselves."""
    if isinstance(item, slice) or isinstance(value, torch.Tensor):
        if isinstance(value, torch.Tensor) and isinstance(item, torch.Tensor):
            item = item.to(value.device)
        return value[item]
    if isinstance(value, np.ndarray):
        return value[item.cpu().numpy()]
    if isinstance(value, list | tuple | str):
        indices = (item.nonzero().view(-1) if item.dtype == torch.bool else item).tolist()
        picked = [value[i] for i in indices]
        return ''.join(picked) if isinstance(value, str) else type(value)(picked)
    if hasattr(value, '__getitem__'):
        return value[item]
    raise TypeError(f'Cannot index a field of type {type(value).__name__}.')


def _concat(values: list) -> Any:
    first = values[0]
    if isinstance(first, torch.Tensor):
        return torch.cat(values, dim=0)
    if isinstance(first, np.ndarray):
        return np.concatenate(values, axis=0)
    if isinstance(first, list | tuple | str):
        joined = list(itertools.chain.from_iterable(values))
        return ''.join(joined) if isinstance(first, str) else type(first)(joined)
    if hasattr(type(first), 'cat'):
        return type(first).cat(values)
    raise TypeError(f'Cannot concatenate fields of type {type(first).__name__}; give the type '
                    'a `cat` classmethod.')


class InstanceData(BaseDataElement):
    """Data fields describing the instances of one sample; all have the same length.

    Indexing selects instances across every field: ``data[0]``, ``data[1:3]``,
    ``data[[0, 2]]``, ``data[scores > 0.5]``, ``data[torch.tensor([2, 0])]``.

    Examples:
        >>> inst = InstanceData(metainfo=dict(img_shape=(8, 8)))
        >>> inst.scores = torch.tensor([0.1, 0.9, 0.5])
        >>> inst.labels = [3, 1, 2]
        >>> picked = inst[inst.scores > 0.4]
        >>> len(picked), picked.labels, picked.img_shape
        (2, [1, 2], (8, 8))
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _PRIVATE:
            super().__setattr__(name, value)
            return
        if not isinstance(value, Sized):
            raise TypeError(f'InstanceData field {name!r} must have a length (tensor, array, '
                            f'list...), but got {type(value).__name__}.')
        if len(self) > 0 and len(value) != len(self) and self.keys() != [name]:
            # compat: MMEngine users check for AssertionError here.
            raise AssertionError(f'Field {name!r} has length {len(value)}, but the other '
                                 f'fields of this InstanceData have length {len(self)}.')
        super().__setattr__(name, value)

    __setitem__ = __setattr__

    def __getitem__(self, item: IndexType) -> Any:
        """A field by name, or a new InstanceData with the selected instances."""
        if isinstance(item, str):
            return getattr(self, item)
        item = _normalize_index(item, len(self))
        new_data = self.__class__(metainfo=self.metainfo)
        for key, value in self.items():
            setattr(new_data, key, _index_value(value, item))
        return new_data

    @staticmethod
    def cat(instances_list: list[InstanceData]) -> InstanceData:
        """Concatenate instances with the same fields into one InstanceData.

        The metainfo of the first element is kept.
        """
        if not instances_list:
            raise ValueError('InstanceData.cat needs at least one InstanceData.')
        if not all(isinstance(x, InstanceData) for x in instances_list):
            raise TypeError('InstanceData.cat expects a list of InstanceData, but got '
                            f'{[type(x).__name__ for x in instances_list]}.')
        if len(instances_list) == 1:
            return instances_list[0]
        keys = set(instances_list[0].keys())
        for other in instances_list[1:]:
            if set(other.keys()) != keys:
                raise ValueError('All InstanceData must have the same fields to be '
                                 f'concatenated, but got {sorted(keys)} and '
                                 f'{sorted(other.keys())}.')
        new_data = instances_list[0].__class__(metainfo=instances_list[0].metainfo)
        for key in instances_list[0].keys():
            setattr(new_data, key, _concat([x[key] for x in instances_list]))
        return new_data

    def __len__(self) -> int:
        """Number of instances (0 without data fields)."""
        values = self.values()
        return len(values[0]) if values else 0
