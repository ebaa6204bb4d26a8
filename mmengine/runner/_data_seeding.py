"""Data randomness that does not depend on workers, prefetching or where a run resumed.

Two effects break exact resume when a pipeline draws random numbers (augmentation):

(a) ``iter(dataloader)`` draws the workers' base seed from the *global* torch generator when
    the loader has no ``generator``; validation loaders started between a checkpoint and the
    next training pass thereby move the global stream the model's own randomness uses.
(b) With ``num_workers > 0`` a sample's random numbers depend on how many samples its worker
    already produced in the pass, and a resumed pass hands batches to different workers.

:class:`RunnerDataLoader` (every loader the runner builds from a config) fixes (a): it owns a
``torch.Generator`` reseeded with ``seed + sampler epoch`` before each pass, so loaders never
touch the global generator. In deterministic mode (``randomness=dict(deterministic=True)``) it
also fixes (b): each index travels to the dataset tagged with a key derived from
``(seed, sampler epoch, position of the sample in the sampler's stream)``, and
:class:`SeededDataset` seeds ``random``, numpy and torch from that key before fetching it (in
the main process the previous generator states are restored afterwards). A sample's
augmentation is then a function of the run's seed and its place in the data stream only, the
same for any ``num_workers`` (persistent or not) and after a resume part-way through a pass.

A plain ``torch.utils.data.DataLoader`` given as an object is used as is: its iteration
draws from the global generator (restored from the checkpoint, so resuming at an epoch
boundary repeats the same order) and, with ``shuffle=True``, its ``RandomSampler`` cannot skip
part of a pass, so a resume in the middle of an epoch restarts that epoch (with a warning).
"""
from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch.autograd import profiler as autograd_profiler
from torch.utils.data import DataLoader, Dataset, IterableDataset, MapDataPipe, get_worker_info


class SampleKey(int):
    """A dataset index carrying the seed of its sample (an ``int`` everywhere else)."""

    seed: int

    def __new__(cls, index: int, seed: int) -> SampleKey:
        obj = super().__new__(cls, index)
        obj.seed = seed
        return obj

    def __reduce__(self) -> tuple:  # workers receive indices through pickling
        return SampleKey, (int(self), self.seed)


def _mix(*values: int) -> int:
    """A well-spread 63-bit seed from a few ints (no collisions between nearby tuples)."""
    state = np.random.SeedSequence([int(v) % 2**63 for v in values]).generate_state(2)
    return int((int(state[0]) << 31) ^ int(state[1])) % 2**63


def _seed_all(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


class SeededDataset(Dataset):
    """Wraps a dataset so that each keyed sample is fetched under its own seed.

    Attribute access (``metainfo``, ``full_init``, ...) is forwarded to the wrapped dataset,
    which :attr:`dataset_` returns.
    """

    def __init__(self, dataset: Any) -> None:
        self.dataset_ = dataset

    def __getitem__(self, index: Any) -> Any:
        if not isinstance(index, SampleKey):
            return self.dataset_[index]
        in_main_process = get_worker_info() is None
        if in_main_process:  # keep the training process's own random streams untouched
            saved = random.getstate(), np.random.get_state(), torch.get_rng_state()
        _seed_all(index.seed)
        try:
            return self.dataset_[int(index)]
        finally:
            if in_main_process:
                random.setstate(saved[0])
                np.random.set_state(saved[1])
                torch.set_rng_state(saved[2])

    def __len__(self) -> int:
        return len(self.dataset_)

    def __getattr__(self, name: str) -> Any:
        # Dunder lookups (e.g. torch's __getitems__ probe) must not reach the wrapped dataset,
        # or batched fetching would bypass the per-sample seeding.
        if name.startswith('__') or name == 'dataset_':
            raise AttributeError(name)
        return getattr(self.dataset_, name)

    def __repr__(self) -> str:
        return f'SeededDataset({self.dataset_!r})'


class _KeyedBatches:
    """Iterate a batch sampler, tagging each index with the seed of its stream position."""

    def __init__(self, batch_sampler: Any, seed: int) -> None:
        self.batch_sampler = batch_sampler
        self.seed = seed

    def __len__(self) -> int:
        return len(self.batch_sampler)

    def __iter__(self) -> Iterator[list[SampleKey]]:
        sampler = getattr(self.batch_sampler, 'sampler', None)
        epoch = int(getattr(sampler, 'epoch', 0))
        count = 0
        for batch in self.batch_sampler:
            # mmengine samplers count the indices of the pass handed out so far, including
            # those skipped on resume, so a position means the same sample after a resume.
            end = getattr(sampler, '_position', None)
            start = end - len(batch) if isinstance(end, int) else count
            count += len(batch)
            yield [SampleKey(index, _mix(self.seed, epoch, start + offset))
                   for offset, index in enumerate(batch)]


class RunnerDataLoader(DataLoader):
    """A ``DataLoader`` with its own per-pass generator (and per-sample seeds when keyed).

    Without workers, pinned memory or an iterable dataset, it yields its batches itself
    (:class:`_InProcessBatches`): the same batches, without the cost of torch's iterator.

    Args:
        *args: ``DataLoader`` arguments.
        seed: The run's seed; the generator of epoch ``e`` is seeded with ``seed + e``.
        keyed: Tag indices with per-sample seeds (needs a :class:`SeededDataset`).
        **kwargs: ``DataLoader`` keyword arguments.
    """

    def __init__(self, *args: Any, seed: int = 0, keyed: bool = False, **kwargs: Any) -> None:
        kwargs.setdefault('generator', torch.Generator())
        super().__init__(*args, **kwargs)
        self.pass_seed = int(seed)
        self.keyed = keyed and isinstance(self.dataset, SeededDataset)

    @property
    def _index_sampler(self) -> Any:
        inner = super()._index_sampler
        if self.keyed and self._auto_collation:
            return _KeyedBatches(inner, self.pass_seed)
        return inner

    def __iter__(self) -> Any:
        sampler = getattr(self.batch_sampler, 'sampler', self.sampler)
        if self.generator is not None:
            self.generator.manual_seed(self.pass_seed + int(getattr(sampler, 'epoch', 0)))
        if (self.num_workers == 0 and not self.pin_memory and self.timeout == 0
                and not isinstance(self.dataset, (IterableDataset, MapDataPipe))):
            return _InProcessBatches(self)
        return super().__iter__()


class _InProcessBatches:
    """The batches of a single-process, map-style loader without pinned memory: what torch's
    iterator yields, read from the loader's index sampler, dataset and ``collate_fn``.

    torch's iterator opens a profiler range around every batch, which costs about 30,000
    instructions even when no profiler runs: more than fetching and collating a small batch.
    Here the range (same name) is opened only while a profiler records.
    """

    def __init__(self, loader: DataLoader) -> None:
        self._index_sampler = loader._index_sampler
        self._indices = iter(self._index_sampler)
        # torch's iterator draws its workers' base seed at this point; drawing it too keeps
        # the generator's stream, e.g. a RandomSampler's order, the same as with torch's.
        torch.empty((), dtype=torch.int64).random_(generator=loader.generator)
        self._dataset = loader.dataset
        self._collate = loader.collate_fn
        self._batched = loader._auto_collation
        getitems = getattr(loader.dataset, '__getitems__', None)
        self._getitems = getitems if self._batched and getitems else None

    def __iter__(self) -> _InProcessBatches:
        return self

    def __len__(self) -> int:
        return len(self._index_sampler)

    def __next__(self) -> Any:
        # (A private flag of torch; if it goes away, every batch gets its range again.)
        if getattr(autograd_profiler, '_is_profiler_enabled', True):
            with autograd_profiler.record_function(
                    'enumerate(DataLoader)#_SingleProcessDataLoaderIter.__next__'):
                return self._fetch()
        return self._fetch()

    def _fetch(self) -> Any:
        index = next(self._indices)
        if self._getitems is not None:
            return self._collate(self._getitems(index))
        if self._batched:
            dataset = self._dataset
            return self._collate([dataset[i] for i in index])
        return self._collate(self._dataset[index])


def wrap_for_keys(dataset: Any, deterministic: bool) -> tuple[Any, bool]:
    """``(dataset to give the loader, keyed)``: wrapped only for map-style datasets in
    deterministic mode."""
    if deterministic and not isinstance(dataset, IterableDataset):
        return SeededDataset(dataset), True
    return dataset, False
