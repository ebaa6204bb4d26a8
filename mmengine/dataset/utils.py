"""Collate functions for DataLoaders and the per-worker seeding function."""
from __future__ import annotations

import random
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import default_collate as torch_default_collate
from torch.utils.data import get_worker_info

from mmengine.registry import FUNCTIONS
from mmengine.structures import BaseDataElement

# compat: old code looks collate functions up here; they now live in the FUNCTIONS registry.
COLLATE_FUNCTIONS = FUNCTIONS


def worker_init_fn(worker_id: int, num_workers: int, rank: int, seed: int,
                   disable_subprocess_warning: bool = False) -> None:
    """Seed ``random``, numpy and torch differently in every DataLoader worker of every rank.

    The seed is ``num_workers * rank + worker_id + seed``, so workers never share a random
    stream and a run with the same seed repeats itself.

    Args:
        worker_id: Index of the worker within its DataLoader.
        num_workers: Number of workers of the DataLoader.
        rank: Rank of the process owning the DataLoader.
        seed: The base random seed of the run.
        disable_subprocess_warning: Silence warnings in every worker but the first, so
            messages are not repeated ``num_workers`` times.
    """
    worker_seed = num_workers * rank + worker_id + seed
    np.random.seed(worker_seed % 2**32)  # numpy accepts only 32-bit seeds
    random.seed(worker_seed)
    torch.manual_seed(worker_seed)
    if disable_subprocess_warning and worker_id != 0:
        warnings.simplefilter('ignore')


def _collate(data_batch: Sequence, leaf: Callable[[Sequence], Any]) -> Any:
    """Turn a list of samples into one batch of the same structure, applying ``leaf`` at leaves.

    Strings, bytes and data elements stay lists; named tuples, sequences and mappings are
    transposed and collated field by field.
    """
    if len(data_batch) == 0:
        return list(data_batch)
    first = data_batch[0]
    kind = type(first)
    # Runs for every batch: common exact types first (the abstract-base-class checks below
    # are several times slower).
    if kind is torch.Tensor:
        return leaf(data_batch)
    if kind is dict:
        return {key: _collate([item[key] for item in data_batch], leaf) for key in first}
    if kind is tuple or kind is list:  # both become a list of collated fields
        size = len(first)
        for item in data_batch:
            if len(item) != size:
                break
        else:
            # A field of tensors (the usual (inputs, labels) sample) goes to the leaf at once.
            return [leaf(list(field)) if type(field[0]) is torch.Tensor
                    else _collate(list(field), leaf) for field in zip(*data_batch)]
    if isinstance(first, (str, bytes, BaseDataElement)):
        return list(data_batch)
    if isinstance(first, tuple) and hasattr(first, '_fields'):  # a namedtuple
        return kind(*(_collate(list(field), leaf) for field in zip(*data_batch)))
    if isinstance(first, Sequence):
        lengths = {len(item) for item in data_batch}
        if len(lengths) != 1:
            # compat: the reference (and PyTorch) raise RuntimeError here.
            raise RuntimeError('Cannot collate sequences of different lengths within a batch; '
                             f'got lengths {sorted(lengths)}. Pad them or use a custom '
                             'collate_fn.')
        fields = [_collate(list(field), leaf) for field in zip(*data_batch)]
        if isinstance(first, tuple):
            return fields
        try:
            return kind(fields)
        except TypeError:  # a sequence type that cannot be built from a list
            return fields
    if isinstance(first, Mapping):
        return kind({key: _collate([item[key] for item in data_batch], leaf) for key in first})
    return leaf(data_batch)


def pseudo_collate(data_batch: Sequence) -> Any:
    """Group a list of samples by field without stacking anything.

    A list of dicts becomes a dict of lists, a list of tuples a list of lists (one per field),
    recursively; tensors, arrays and data elements stay as lists. This is the default collate
    function of loaders built from config dicts.

    Args:
        data_batch: The samples of one batch.

    Returns:
        The batch with the structure of one sample and lists at the leaves.

    Examples:
        >>> pseudo_collate([dict(a=1, b='x'), dict(a=2, b='y')])
        {'a': [1, 2], 'b': ['x', 'y']}
    """
    return _collate(data_batch, list)


def default_collate(data_batch: Sequence) -> Any:
    """Group a list of samples by field, stacking tensors, arrays and numbers into tensors.

    Like PyTorch's ``default_collate``, except that data elements
    (:class:`~mmengine.structures.BaseDataElement`) and strings stay lists and tuples become
    lists.

    Args:
        data_batch: The samples of one batch.

    Returns:
        The batch with the structure of one sample, stacked along a new first dimension.

    Examples:
        >>> batch = default_collate([dict(x=torch.zeros(2)), dict(x=torch.ones(2))])
        >>> batch['x'].shape
        torch.Size([2, 2])
    """
    return _collate(data_batch, _stack_or_collate)


def _stack_or_collate(field: list) -> Any:
    """PyTorch's ``default_collate`` of one field (a list of leaves).

    A field of dense tensors in the main process is stacked here directly, which is what
    PyTorch does with it there, without its type dispatch (9,000 instructions per field of
    every batch). Worker processes stack into shared memory, and sparse or nested tensors get
    PyTorch's errors: both go through PyTorch's function.
    """
    first = field[0]
    if (type(first) is torch.Tensor and first.layout is torch.strided and not first.is_nested
            and get_worker_info() is None):
        return torch.stack(field)
    return torch_default_collate(field)


FUNCTIONS.register_module(module=pseudo_collate)
FUNCTIONS.register_module(module=default_collate)
