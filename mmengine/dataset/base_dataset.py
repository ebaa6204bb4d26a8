"""``BaseDataset`` (annotation-file datasets with lazy init and serialized storage) and ``Compose``.

The annotation file holds ``{"metainfo": {...}, "data_list": [{...}, ...]}``. Each raw entry is
turned into one or more data infos by :meth:`BaseDataset.parse_data_info`; the pipeline turns a
data info into a training sample.
"""
from __future__ import annotations

import copy
import functools
import os.path as osp
import pickle
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from torch.utils.data import Dataset

from mmengine.fileio import join_path, list_from_file, load
from mmengine.registry import TRANSFORMS


@TRANSFORMS.register_module()
class Compose:
    """Apply a sequence of transforms in order; a ``None`` result stops the chain.

    Args:
        transforms: Callables or ``TRANSFORMS`` config dicts (a single one is accepted too);
            ``None`` means no transform.

    Examples:
        >>> pipeline = Compose([lambda x: x + 1, lambda x: x * 2])
        >>> pipeline(3)
        8
    """

    def __init__(self, transforms: Callable | dict | Sequence[Callable | dict] | None) -> None:
        if transforms is None:
            transforms = []
        elif callable(transforms) or isinstance(transforms, dict):
            transforms = [transforms]
        self.transforms: list[Callable] = []
        for index, transform in enumerate(transforms):
            if isinstance(transform, dict):
                transform = TRANSFORMS.build(transform)
            if not callable(transform):
                raise TypeError(f'Compose: transform {index} must be callable or a config '
                                f'dict, got {type(transform).__name__} ({transform!r}).')
            self.transforms.append(transform)

    def __call__(self, data: Any) -> Any:
        """Run ``data`` through every transform; return ``None`` as soon as one does."""
        for transform in self.transforms:
            data = transform(data)
            if data is None:
                return None
        return data

    def __repr__(self) -> str:
        lines = ''.join(f'    {transform}\n' for transform in self.transforms)
        return f'{type(self).__name__}(\n{lines})'


def force_full_init(old_func: Callable) -> Callable:
    """Decorate a dataset method so that it runs :meth:`full_init` first when needed.

    Args:
        old_func: A method of an object that has ``full_init`` and ``_fully_initialized``.

    Returns:
        The wrapped method.
    """

    @functools.wraps(old_func)
    def wrapper(obj: Any, *args: Any, **kwargs: Any) -> Any:
        if not hasattr(obj, 'full_init'):
            raise AttributeError(f'{type(obj).__name__} has no full_init method, so '
                                 f'{old_func.__name__} cannot be decorated with force_full_init.')
        if not getattr(obj, '_fully_initialized', False):
            obj.full_init()
        return old_func(obj, *args, **kwargs)

    return wrapper


def _serialize(data_list: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """Pickle every data info into one uint8 buffer; return ``(bytes, end offsets)``.

    One numpy buffer instead of a list of dicts means DataLoader workers read shared pages
    instead of touching (and so copying) millions of Python objects.
    """
    chunks = [np.frombuffer(pickle.dumps(info, protocol=4), dtype=np.uint8) for info in data_list]
    ends = np.cumsum([len(chunk) for chunk in chunks], dtype=np.int64)
    data_bytes = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.uint8)
    return data_bytes, ends


def _select(length: int, indices: int | Sequence[int]) -> list[int]:
    """Positions kept by ``indices``: the first ``n`` (last ``-n``) or an explicit list."""
    if isinstance(indices, int):
        return list(range(length))[:indices] if indices >= 0 else list(range(length))[indices:]
    if isinstance(indices, Sequence) and all(isinstance(i, int) for i in indices):
        return list(indices)
    raise TypeError(f'indices must be an int or a sequence of ints, got {indices!r}.')


class BaseDataset(Dataset):
    """A dataset read from an annotation file, with lazy, filtered and serialized storage.

    Args:
        ann_file: Annotation file path, relative to ``data_root`` unless absolute.
        metainfo: Meta information that overrides the class's ``METAINFO``. A string value
            naming an existing file is read as a list of lines.
        data_root: Root prepended to ``ann_file`` and to every ``data_prefix``.
        data_prefix: Prefixes joined with the matching keys of each data info.
        filter_cfg: Settings used by :meth:`filter_data` (subclasses define them).
        indices: Keep only these data infos: the first ``n`` (an int) or a list of positions.
        serialize_data: Store the data infos as one numpy byte buffer. Defaults to True.
        pipeline: Transforms (callables or config dicts) applied by :meth:`prepare_data`.
        test_mode: In test mode a ``None`` sample is an error instead of triggering a refetch.
        lazy_init: Defer loading the annotations until first needed (or :meth:`full_init`).
        max_refetch: How many other random samples to try when the pipeline returns ``None``.
    """

    METAINFO: dict = dict()
    _fully_initialized: bool = False

    # The mutable defaults are the public signature; both are copied, never mutated.
    def __init__(self, ann_file: str = '', metainfo: Mapping | None = None, data_root: str = '',
                 data_prefix: dict = dict(img_path=''),  # noqa: B006
                 filter_cfg: dict | None = None,
                 indices: int | Sequence[int] | None = None, serialize_data: bool = True,
                 pipeline: Sequence = [], test_mode: bool = False, lazy_init: bool = False,
                 max_refetch: int = 1000) -> None:
        self.ann_file = ann_file
        self._metainfo = self._load_metainfo(copy.deepcopy(metainfo))
        self.data_root = data_root
        self.data_prefix = copy.copy(data_prefix)
        self.filter_cfg = copy.deepcopy(filter_cfg)
        self._indices = indices
        self.serialize_data = serialize_data
        self.test_mode = test_mode
        self.max_refetch = max_refetch
        self.data_list: list[dict] = []
        self.data_bytes: np.ndarray | None = None
        self.data_address: np.ndarray | None = None
        self._join_prefix()
        self.pipeline = Compose(pipeline)
        if not lazy_init:
            self.full_init()

    @classmethod
    def _load_metainfo(cls, metainfo: Mapping | None) -> dict:
        """Merge the class ``METAINFO`` with the argument (the argument wins)."""
        if metainfo is not None and not isinstance(metainfo, Mapping):
            raise TypeError(f'metainfo must be a dict, got {type(metainfo).__name__}.')
        merged = copy.deepcopy(cls.METAINFO)
        for key, value in (metainfo or {}).items():
            if isinstance(value, str) and osp.isfile(value):
                value = list_from_file(value)
            merged[key] = value
        return merged

    def _join_prefix(self) -> None:
        """Prepend ``data_root`` to ``ann_file`` and to every relative data prefix."""
        if self.ann_file and self.data_root and not osp.isabs(self.ann_file):
            self.ann_file = join_path(self.data_root, self.ann_file)
        for key, prefix in self.data_prefix.items():
            if not isinstance(prefix, str):
                raise TypeError(f'data_prefix[{key!r}] must be a str, got '
                                f'{type(prefix).__name__} ({prefix!r}).')
            if self.data_root and not osp.isabs(prefix):
                self.data_prefix[key] = join_path(self.data_root, prefix)

    @property
    def metainfo(self) -> dict:
        """A deep copy of the meta information (class, then file, then argument)."""
        return copy.deepcopy(self._metainfo)

    def full_init(self) -> None:
        """Load, filter, subset and serialize the annotations; a no-op once done."""
        if self._fully_initialized:
            return
        self.data_list = self.load_data_list()
        self.data_list = self.filter_data()
        if self._indices is not None:
            self.data_list = [self.data_list[i] for i in _select(len(self.data_list),
                                                                 self._indices)]
        if self.serialize_data:
            self.data_bytes, self.data_address = _serialize(self.data_list)
            # Reference counting frees the parsed dicts; a full gc.collect() would cost
            # hundreds of milliseconds per dataset for nothing (annotations hold no cycles).
            self.data_list.clear()
        self._fully_initialized = True

    def load_data_list(self) -> list[dict]:
        """Read the annotation file and parse each raw entry with :meth:`parse_data_info`.

        File meta information fills keys that neither the class nor the argument set.
        """
        annotations = load(self.ann_file)
        if not isinstance(annotations, dict):
            raise TypeError(f'The annotation file {self.ann_file!r} must hold a dict with keys '
                            f'"metainfo" and "data_list", got {type(annotations).__name__}.')
        missing = {'metainfo', 'data_list'} - set(annotations)
        if missing:
            raise ValueError(f'The annotation file {self.ann_file!r} lacks {sorted(missing)}; '
                             'it must hold {"metainfo": {...}, "data_list": [...]}.')
        for key, value in annotations['metainfo'].items():
            # compat: class METAINFO and the argument take precedence over the file.
            self._metainfo.setdefault(key, value)
        data_list = []
        for raw in annotations['data_list']:
            parsed = self.parse_data_info(raw)
            if isinstance(parsed, dict):
                data_list.append(parsed)
            elif isinstance(parsed, list) and all(isinstance(d, dict) for d in parsed):
                data_list.extend(parsed)
            else:
                raise TypeError('parse_data_info must return a dict or a list of dicts, got '
                                f'{type(parsed).__name__}.')
        return data_list

    def parse_data_info(self, raw_data_info: dict) -> dict | list[dict]:
        """Join each ``data_prefix`` with the matching key of a raw annotation entry.

        Args:
            raw_data_info: One entry of the file's ``data_list``.

        Returns:
            The data info (subclasses may return a list of them).
        """
        for key, prefix in self.data_prefix.items():
            if key not in raw_data_info:
                raise KeyError(f'data_prefix has key {key!r} but the annotation entry has only '
                               f'{sorted(raw_data_info)}; fix data_prefix or the annotations.')
            raw_data_info[key] = join_path(prefix, raw_data_info[key])
        return raw_data_info

    def filter_data(self) -> list[dict]:
        """Return the data infos to keep (all of them here; subclasses use ``filter_cfg``)."""
        return self.data_list

    def get_cat_ids(self, idx: int) -> list[int]:
        """Category ids of sample ``idx``; needed by :class:`ClassBalancedDataset`."""
        raise NotImplementedError(f'{type(self).__name__} does not implement get_cat_ids.')

    @force_full_init
    def get_data_info(self, idx: int) -> dict:
        """Return a fresh copy of data info ``idx`` with its ``sample_idx`` set."""
        length = len(self)
        if not -length <= idx < length:
            raise IndexError(f'{type(self).__name__} has {length} samples; index {idx} is out '
                             'of range.')
        idx = idx % length
        if self.serialize_data:
            start = 0 if idx == 0 else int(self.data_address[idx - 1])
            end = int(self.data_address[idx])
            info = pickle.loads(memoryview(self.data_bytes[start:end]))
        else:
            info = copy.deepcopy(self.data_list[idx])
        info['sample_idx'] = idx
        return info

    def prepare_data(self, idx: int) -> Any:
        """Run the pipeline on data info ``idx``."""
        return self.pipeline(self.get_data_info(idx))

    def __getitem__(self, idx: int) -> Any:
        if not self._fully_initialized:
            self.full_init()
        if self.test_mode:
            data = self.prepare_data(idx)
            if data is None:
                raise RuntimeError(f'The pipeline returned None for sample {idx} in test mode, '
                                   'where samples cannot be replaced; fix the pipeline.')
            return data
        tried = idx
        for _ in range(self.max_refetch + 1):
            data = self.prepare_data(tried)
            if data is not None:
                return data
            tried = int(np.random.randint(0, len(self)))
        raise RuntimeError(f'The pipeline returned None for sample {idx} and for '
                           f'{self.max_refetch} random replacements; check the pipeline or '
                           'raise max_refetch.')

    @force_full_init
    def __len__(self) -> int:
        if self.serialize_data:
            return len(self.data_address)
        return len(self.data_list)

    def _take(self, positions: list[int]) -> None:
        """Keep only the data infos at ``positions`` (in that order)."""
        if not self.serialize_data:
            self.data_list = [self.data_list[i] for i in positions]
            return
        ends = self.data_address
        starts = np.concatenate([[0], ends[:-1]]) if len(ends) else ends
        chunks = [self.data_bytes[starts[i]:ends[i]] for i in positions]
        lengths = [len(chunk) for chunk in chunks]
        self.data_bytes = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.uint8)
        self.data_address = np.cumsum(lengths, dtype=np.int64)

    @force_full_init
    def get_subset_(self, indices: int | Sequence[int]) -> None:
        """Keep only a subset, in place: the first ``n`` (last ``-n``) or the listed positions."""
        self._take(_select(len(self), indices))

    @force_full_init
    def get_subset(self, indices: int | Sequence[int]) -> BaseDataset:
        """Return a copy holding only a subset (see :meth:`get_subset_`); ``self`` is unchanged."""
        subset = self._copy_without_annotation()
        subset.data_list = self.data_list
        subset.data_bytes, subset.data_address = self.data_bytes, self.data_address
        subset._take(_select(len(self), indices))  # builds new storage, shares nothing
        if not self.serialize_data:
            subset.data_list = copy.deepcopy(subset.data_list)
        return subset

    def _copy_without_annotation(self) -> BaseDataset:
        """A deep copy of everything but the (possibly large) stored data infos."""
        other = type(self).__new__(type(self))
        heavy = {'data_list', 'data_bytes', 'data_address'}
        for key, value in self.__dict__.items():
            other.__dict__[key] = None if key in heavy else copy.deepcopy(value)
        return other
