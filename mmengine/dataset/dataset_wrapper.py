"""Dataset wrappers: concatenate, repeat, and oversample rare classes.

Every wrapper accepts built datasets or ``DATASETS`` config dicts, supports ``lazy_init`` (the
wrapped datasets load their annotations only at :meth:`full_init`), and exposes the wrapped
datasets' ``metainfo`` and ``get_data_info``.
"""
from __future__ import annotations

import bisect
import copy
import math
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np
from torch.utils.data import ConcatDataset as _ConcatDataset
from torch.utils.data import Dataset

from mmengine.registry import DATASETS

from .base_dataset import force_full_init


def _build(dataset: Dataset | dict) -> Dataset:
    if isinstance(dataset, dict):
        return DATASETS.build(dataset)
    if isinstance(dataset, Dataset):
        return dataset
    raise TypeError(f'Expected a Dataset or a config dict, got {type(dataset).__name__}.')


def _metainfo(dataset: Dataset) -> dict:
    return copy.deepcopy(getattr(dataset, 'metainfo', {}))


def _full_init(dataset: Dataset) -> None:
    if hasattr(dataset, 'full_init'):
        dataset.full_init()


def _same(a: Any, b: Any) -> bool:
    """Equality that also works for numpy arrays inside meta information."""
    try:
        return bool(np.all(a == b)) if isinstance(a, np.ndarray) or isinstance(
            b, np.ndarray) else bool(a == b)
    except (TypeError, ValueError):
        return False


def _no_subset(wrapper: Any) -> None:
    raise NotImplementedError(f'{type(wrapper).__name__} cannot take a subset of itself; call '
                              'get_subset / get_subset_ on the wrapped dataset(s) instead.')


class _LazyWrapper:
    """Shared ``full_init`` protocol: subclasses implement ``_init`` and set ``_metainfo``."""

    _fully_initialized = False

    @property
    def metainfo(self) -> dict:
        """A deep copy of the meta information."""
        return copy.deepcopy(self._metainfo)  # type: ignore[attr-defined]

    def full_init(self) -> None:
        """Fully initialize the wrapped dataset(s); a no-op once done."""
        if self._fully_initialized:
            return
        self._init()
        self._fully_initialized = True

    def _init(self) -> None:
        raise NotImplementedError

    def get_subset_(self, indices: int | Sequence[int]) -> None:
        """Not supported on wrappers: subset the wrapped dataset(s)."""
        _no_subset(self)

    def get_subset(self, indices: int | Sequence[int]) -> Any:
        """Not supported on wrappers: subset the wrapped dataset(s)."""
        _no_subset(self)


@DATASETS.register_module()
class ConcatDataset(_LazyWrapper, _ConcatDataset):
    """Concatenate datasets that share their meta information.

    Args:
        datasets: Datasets or config dicts.
        lazy_init: Defer the wrapped datasets' loading until :meth:`full_init`.
        ignore_keys: Meta information keys allowed to differ between the datasets.
    """

    def __init__(self, datasets: Sequence[Dataset | dict], lazy_init: bool = False,
                 ignore_keys: str | list[str] | None = None) -> None:
        self.datasets = [_build(dataset) for dataset in datasets]
        if not self.datasets:
            raise ValueError('ConcatDataset needs at least one dataset, got an empty list.')
        if isinstance(ignore_keys, str):
            ignore_keys = [ignore_keys]
        elif ignore_keys is not None and not isinstance(ignore_keys, list):
            raise TypeError('ignore_keys must be a str, a list of str or None, got '
                            f'{type(ignore_keys).__name__}.')
        self.ignore_keys = ignore_keys or []
        self._metainfo = _metainfo(self.datasets[0])
        self._check_metainfo()
        if not lazy_init:
            self.full_init()

    def _check_metainfo(self) -> None:
        for i, dataset in enumerate(self.datasets[1:], start=1):
            other = _metainfo(dataset)
            for key in sorted((set(self._metainfo) | set(other)) - set(self.ignore_keys)):
                if key not in self._metainfo or key not in other or not _same(
                        self._metainfo[key], other[key]):
                    raise ValueError(
                        f'ConcatDataset: the meta information key {key!r} of dataset {i} does '
                        f'not match dataset 0 ({other.get(key)!r} vs '
                        f'{self._metainfo.get(key)!r}); pass ignore_keys=[{key!r}] if that '
                        'is intended.')

    def _init(self) -> None:
        for dataset in self.datasets:
            _full_init(dataset)
        self.cumulative_sizes = self.cumsum(self.datasets)

    def _get_ori_dataset_idx(self, idx: int) -> tuple[int, int]:
        """Map a global index to ``(dataset index, index within that dataset)``."""
        total = len(self)
        if not -total <= idx < total:
            raise IndexError(f'ConcatDataset has {total} samples; index {idx} is out of range.')
        idx = idx % total
        dataset_idx = bisect.bisect_right(self.cumulative_sizes, idx)
        sample_idx = idx - self.cumulative_sizes[dataset_idx - 1] if dataset_idx else idx
        return dataset_idx, sample_idx

    @force_full_init
    def get_data_info(self, idx: int) -> dict:
        """The data info of global sample ``idx``."""
        dataset_idx, sample_idx = self._get_ori_dataset_idx(idx)
        return self.datasets[dataset_idx].get_data_info(sample_idx)

    @force_full_init
    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx: int) -> Any:
        if not self._fully_initialized:
            self.full_init()
        dataset_idx, sample_idx = self._get_ori_dataset_idx(idx)
        return self.datasets[dataset_idx][sample_idx]


class _IndexedWrapper(_LazyWrapper):
    """A wrapper whose samples are ``dataset[self._ori_index(idx)]``."""

    dataset: Any

    def _ori_index(self, idx: int) -> int:
        raise NotImplementedError

    def _resolve(self, idx: int) -> int:
        """The wrapped dataset's index behind ``idx`` (negative indices count from the end)."""
        total = len(self)  # type: ignore[arg-type]
        if not -total <= idx < total:
            raise IndexError(f'{type(self).__name__} has {total} samples; index {idx} is out '
                             'of range.')
        return self._ori_index(idx % total)

    @force_full_init
    def get_data_info(self, idx: int) -> dict:
        """The data info of the wrapped sample behind ``idx``."""
        return self.dataset.get_data_info(self._resolve(idx))

    def __getitem__(self, idx: int) -> Any:
        if not self._fully_initialized:
            self.full_init()
        return self.dataset[self._resolve(idx)]


@DATASETS.register_module()
class RepeatDataset(_IndexedWrapper):
    """Repeat a dataset ``times`` times (cheaper than reloading it for short epochs).

    Args:
        dataset: Dataset or config dict.
        times: Number of repetitions.
        lazy_init: Defer the wrapped dataset's loading until :meth:`full_init`.
    """

    def __init__(self, dataset: Dataset | dict, times: int, lazy_init: bool = False) -> None:
        self.dataset = _build(dataset)
        if not isinstance(times, int) or times < 1:
            raise ValueError(f'RepeatDataset: times must be a positive int, got {times!r}.')
        self.times = times
        self._metainfo = _metainfo(self.dataset)
        if not lazy_init:
            self.full_init()

    def _init(self) -> None:
        _full_init(self.dataset)
        self._ori_len = len(self.dataset)

    def _ori_index(self, idx: int) -> int:
        return idx % self._ori_len

    @force_full_init
    def __len__(self) -> int:
        return self.times * self._ori_len


def _repeat_factors(dataset: Any, oversample_thr: float) -> list[float]:
    """Per-sample repeat factor ``max over its classes c of max(1, sqrt(thr / freq(c)))``.

    ``freq(c)`` is the fraction of samples containing class ``c``; a sample without classes
    is not repeated.
    """
    num_samples = len(dataset)
    cat_sets = [set(dataset.get_cat_ids(i)) for i in range(num_samples)]
    counts: dict[int, int] = defaultdict(int)
    for cats in cat_sets:
        for cat in cats:
            counts[cat] += 1
    cat_repeat = {cat: max(1.0, math.sqrt(oversample_thr / (count / num_samples)))
                  for cat, count in counts.items()}
    return [max((cat_repeat[c] for c in cats), default=1.0) for cats in cat_sets]


@DATASETS.register_module()
class ClassBalancedDataset(_IndexedWrapper):
    """Oversample samples of rare classes (repeat factor sampling, LVIS paper).

    A sample is repeated ``ceil(r)`` times, where ``r`` is the largest
    ``max(1, sqrt(oversample_thr / f(c)))`` over its classes ``c`` and ``f(c)`` the fraction
    of samples containing ``c``. The wrapped dataset must implement ``get_cat_ids``.

    Args:
        dataset: Dataset or config dict.
        oversample_thr: Classes present in fewer than this fraction of samples get
            oversampled.
        lazy_init: Defer the wrapped dataset's loading until :meth:`full_init`.
    """

    def __init__(self, dataset: Dataset | dict, oversample_thr: float,
                 lazy_init: bool = False) -> None:
        self.dataset = _build(dataset)
        self.oversample_thr = oversample_thr
        self._metainfo = _metainfo(self.dataset)
        if not lazy_init:
            self.full_init()

    def _init(self) -> None:
        _full_init(self.dataset)
        factors = _repeat_factors(self.dataset, self.oversample_thr)
        self.repeat_indices = [i for i, factor in enumerate(factors)
                               for _ in range(math.ceil(factor))]

    def _ori_index(self, idx: int) -> int:
        return self.repeat_indices[idx]

    @force_full_init
    def get_cat_ids(self, idx: int) -> list[int]:
        """Category ids of the wrapped sample behind ``idx``."""
        return self.dataset.get_cat_ids(self._resolve(idx))

    @force_full_init
    def __len__(self) -> int:
        return len(self.repeat_indices)
