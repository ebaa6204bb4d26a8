"""``BaseDataElement``: the container passed between datasets, models, metrics and visualizers.

It holds two kinds of fields. *Metainfo* fields describe the sample (image shape, file name)
and are copied as they are; *data* fields hold the annotations or predictions (tensors,
arrays, nested elements) and follow ``to``, ``cpu``, ``numpy`` and friends. A name belongs to
one kind only.
"""
from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch

_PRIVATE = ('_metainfo_fields', '_data_fields')


def _indent(text: str, spaces: int) -> str:
    pad = ' ' * spaces
    return '\n'.join(pad + line if line else line for line in text.split('\n'))


class BaseDataElement:
    """A sample's metainfo and data, accessible as attributes.

    Args:
        metainfo: Metainfo fields, e.g. ``dict(img_shape=(4, 4))``. Deep-copied.
        **kwargs: Data fields.

    Examples:
        >>> item = BaseDataElement(metainfo=dict(img_id=3), score=torch.tensor([0.5]))
        >>> item.img_id, item.keys(), item.metainfo_keys()
        (3, ['score'], ['img_id'])
        >>> item.score = torch.tensor([0.9])
        >>> 'score' in item, item.get('missing', 0)
        (True, 0)
    """

    def __init__(self, *, metainfo: dict | None = None, **kwargs: Any) -> None:
        self._metainfo_fields: set[str] = set()
        self._data_fields: set[str] = set()
        if metainfo is not None:
            self.set_metainfo(metainfo)
        if kwargs:
            self.set_data(kwargs)

    # ------------------------------------------------------------------ setting fields
    def set_metainfo(self, metainfo: dict) -> None:
        """Add or overwrite metainfo fields (values are deep-copied)."""
        if not isinstance(metainfo, dict):
            raise TypeError(f'metainfo must be a dict, but got {type(metainfo).__name__}.')
        for key, value in copy.deepcopy(metainfo).items():
            self.set_field(value, key, field_type='metainfo')

    def set_data(self, data: dict) -> None:
        """Add or overwrite data fields (through ``setattr``, so subclass checks apply)."""
        if not isinstance(data, dict):
            raise TypeError(f'data must be a dict, but got {type(data).__name__}.')
        for key, value in data.items():
            setattr(self, key, value)

    def update(self, instance: BaseDataElement) -> None:
        """Copy the metainfo and data fields of another element into this one."""
        if not isinstance(instance, BaseDataElement):
            raise TypeError('update() expects a BaseDataElement, but got '
                            f'{type(instance).__name__}.')
        self.set_metainfo(dict(instance.metainfo_items()))
        self.set_data(dict(instance.items()))

    def set_field(self, value: Any, name: str, dtype: type | tuple | None = None,
                  field_type: str = 'data') -> None:
        """Set field ``name`` of kind ``field_type`` (``'data'`` or ``'metainfo'``).

        Raises:
            AttributeError: If ``name`` is already a field of the other kind.
            TypeError: If ``dtype`` is given and ``value`` is not an instance of it.
        """
        if field_type not in ('data', 'metainfo'):
            raise ValueError(f"field_type must be 'data' or 'metainfo', but got {field_type!r}.")
        own, other = ((self._metainfo_fields, self._data_fields) if field_type == 'metainfo'
                      else (self._data_fields, self._metainfo_fields))
        if name in other:
            other_kind = 'data' if field_type == 'metainfo' else 'metainfo'
            raise AttributeError(f'Cannot set {name!r} as a {field_type} field because it is '
                                 f'already a {other_kind} field; delete it first.')
        if dtype is not None and not isinstance(value, dtype):
            raise TypeError(f'{name!r} must be of type {dtype}, but got '
                            f'{type(value).__name__}.')
        own.add(name)
        object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _PRIVATE:
            if hasattr(self, name):
                raise AttributeError(f'{name} is private to {type(self).__name__} and cannot '
                                     'be reassigned.')
            object.__setattr__(self, name, value)
        else:
            self.set_field(value, name, field_type='data')

    def __delattr__(self, item: str) -> None:
        if item in _PRIVATE:
            raise AttributeError(f'{item} is private to {type(self).__name__} and cannot be '
                                 'deleted.')
        object.__delattr__(self, item)
        self._metainfo_fields.discard(item)
        self._data_fields.discard(item)

    __setitem__ = __setattr__
    __delitem__ = __delattr__

    # ------------------------------------------------------------------ reading fields
    def _in_assignment_order(self, names: set[str]) -> list[str]:
        # The instance __dict__ keeps assignment order, which sets do not. A property ``x``
        # stores its value under ``_x``, so it takes that attribute's position.
        order = {name: i for i, name in enumerate(vars(self))}
        return sorted(names, key=lambda n: order.get(n, order.get('_' + n, len(order))))

    def keys(self) -> list[str]:
        """Names of the data fields."""
        # A subclass property ``x`` backed by a data field ``_x`` is listed as ``x`` only.
        hidden = {'_' + name for name in self._data_fields
                  if isinstance(getattr(type(self), name, None), property)}
        return self._in_assignment_order(self._data_fields - hidden)

    def metainfo_keys(self) -> list[str]:
        """Names of the metainfo fields."""
        return self._in_assignment_order(self._metainfo_fields)

    def values(self) -> list:
        """Values of the data fields."""
        return [getattr(self, k) for k in self.keys()]

    def metainfo_values(self) -> list:
        """Values of the metainfo fields."""
        return [getattr(self, k) for k in self.metainfo_keys()]

    def all_keys(self) -> list[str]:
        """Names of the metainfo fields followed by the data fields."""
        return self.metainfo_keys() + self.keys()

    def all_values(self) -> list:
        """Values of all fields, in :meth:`all_keys` order."""
        return [getattr(self, k) for k in self.all_keys()]

    def all_items(self) -> Iterator[tuple[str, Any]]:
        """``(name, value)`` of all fields."""
        for key in self.all_keys():
            yield key, getattr(self, key)

    def items(self) -> Iterator[tuple[str, Any]]:
        """``(name, value)`` of the data fields."""
        for key in self.keys():
            yield key, getattr(self, key)

    def metainfo_items(self) -> Iterator[tuple[str, Any]]:
        """``(name, value)`` of the metainfo fields."""
        for key in self.metainfo_keys():
            yield key, getattr(self, key)

    @property
    def metainfo(self) -> dict:
        """The metainfo fields as a dict."""
        return dict(self.metainfo_items())

    def get(self, key: str, default: Any = None) -> Any:
        """Value of field ``key``, or ``default`` if there is none."""
        return getattr(self, key, default)

    def pop(self, *args: Any) -> Any:
        """Remove field ``args[0]`` and return its value (or ``args[1]`` if it is absent).

        Raises:
            KeyError: If the field is absent and no default is given.
        """
        if not 1 <= len(args) <= 2:
            raise TypeError(f'pop expected 1 or 2 arguments, got {len(args)}.')
        name = args[0]
        if name in self._metainfo_fields or name in self._data_fields:
            value = getattr(self, name)
            delattr(self, name)
            return value
        if len(args) == 2:
            return args[1]
        raise KeyError(f'{name!r} is neither a metainfo nor a data field of '
                       f'{type(self).__name__}.')

    def __contains__(self, item: str) -> bool:
        return item in self._data_fields or item in self._metainfo_fields

    # ------------------------------------------------------------------ copies and devices
    def new(self, *, metainfo: dict | None = None, **kwargs: Any) -> BaseDataElement:
        """A new element of the same type with this metainfo (updated by ``metainfo``) and
        ``kwargs`` as data, or this element's data when no ``kwargs`` are given."""
        new_data = self.__class__()
        new_data.set_metainfo(dict(self.metainfo_items()))
        if metainfo is not None:
            new_data.set_metainfo(metainfo)
        new_data.set_data(kwargs if kwargs else dict(self.items()))
        return new_data

    def clone(self) -> BaseDataElement:
        """A shallow copy: new element, same field values."""
        cloned = self.__class__()
        cloned.set_metainfo(dict(self.metainfo_items()))
        cloned.set_data(dict(self.items()))
        return cloned

    def _apply(self, fn: Callable[[Any], Any], applies: Callable[[Any], bool]) -> Any:
        """A new element whose data values ``v`` with ``applies(v)`` are replaced by ``fn(v)``;
        nested elements are converted recursively."""
        new_data = self.new()
        for key, value in self.items():
            if isinstance(value, BaseDataElement):
                value = value._apply(fn, applies)
            elif applies(value):
                value = fn(value)
            new_data.set_data({key: value})
        return new_data

    def to(self, *args: Any, **kwargs: Any) -> BaseDataElement:
        """Apply ``value.to(*args, **kwargs)`` to every data value that has ``to``."""
        return self._apply(lambda v: v.to(*args, **kwargs), lambda v: hasattr(v, 'to'))

    def _tensor_apply(self, fn: Callable[[torch.Tensor], Any]) -> BaseDataElement:
        return self._apply(fn, lambda v: isinstance(v, torch.Tensor))

    def cpu(self) -> BaseDataElement:
        """Move tensors to the CPU."""
        return self._tensor_apply(lambda v: v.cpu())

    def cuda(self) -> BaseDataElement:
        """Move tensors to the current CUDA device."""
        return self._tensor_apply(lambda v: v.cuda())

    def musa(self) -> BaseDataElement:
        """Move tensors to the current MUSA device."""
        return self._tensor_apply(lambda v: v.musa())

    def npu(self) -> BaseDataElement:
        """Move tensors to the current NPU device."""
        return self._tensor_apply(lambda v: v.npu())

    def mlu(self) -> BaseDataElement:
        """Move tensors to the current MLU device."""
        return self._tensor_apply(lambda v: v.mlu())

    def detach(self) -> BaseDataElement:
        """Detach tensors from the autograd graph."""
        return self._tensor_apply(lambda v: v.detach())

    def numpy(self) -> BaseDataElement:
        """Convert tensors to numpy arrays (on the CPU)."""
        return self._tensor_apply(lambda v: v.detach().cpu().numpy())

    def to_tensor(self) -> BaseDataElement:
        """Convert numpy arrays to tensors."""
        return self._apply(torch.from_numpy, lambda v: isinstance(v, np.ndarray))

    def to_dict(self) -> dict:
        """All fields as a dict, nested elements converted too."""
        return {k: v.to_dict() if isinstance(v, BaseDataElement) else v
                for k, v in self.all_items()}

    # ------------------------------------------------------------------ display
    def __repr__(self) -> str:
        def block(title: str, items: Iterator[tuple[str, Any]]) -> str:
            lines = [f'{title}']
            for key, value in items:
                # Continuation lines of a nested repr line up under the field.
                text = _indent(repr(value), 4).lstrip(' ')
                lines.append(f'{key}: {text}')
            return _indent('\n'.join(lines), 4)

        meta = block('META INFORMATION', self.metainfo_items())
        data = block('DATA FIELDS', self.items())
        return f'<{type(self).__name__}(\n\n{meta}\n\n{data}\n) at {hex(id(self))}>'
