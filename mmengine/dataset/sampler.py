"""Distributed-aware samplers that can resume part-way through a pass without reading data.

Both samplers shard indices over ranks (rank ``r`` takes positions ``r, r + W, ...`` of a
global order) and keep their position as plain integers, so the runner can save it in a
checkpoint and continue from the next batch. Skipping is index arithmetic only: the dataset is
never touched for the skipped samples.
"""
from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sized
from typing import Any

import torch
from torch.utils.data import Sampler

from mmengine.dist import get_dist_info, sync_random_seed
from mmengine.registry import DATA_SAMPLERS


def _check_state(state: dict, owner: str) -> tuple[int, int, int]:
    """Validate a sampler state dict and return ``(epoch, seed, skip)``."""
    if not isinstance(state, dict):
        raise TypeError(f'{owner}.load_state_dict expects a dict with keys epoch, seed and skip, '
                        f'got {type(state).__name__}.')
    missing = {'epoch', 'seed', 'skip'} - set(state)
    if missing:
        raise KeyError(f'{owner}.load_state_dict: the state lacks {sorted(missing)}; expected '
                       f'the dict returned by state_dict(), got keys {sorted(state)}.')
    epoch, seed, skip = (int(state[k]) for k in ('epoch', 'seed', 'skip'))
    if skip < 0:
        raise ValueError(f'{owner}.load_state_dict: skip must be >= 0, got {skip}.')
    return epoch, seed, skip


class _ResumableSampler(Sampler):
    """Shared bookkeeping: rank, seed, epoch, pending skip and position in the current pass."""

    def __init__(self, dataset: Sized, shuffle: bool, seed: int | None) -> None:
        self.rank, self.world_size = get_dist_info()
        self.dataset = dataset
        self.shuffle = shuffle
        # Every rank must shuffle identically, so an unset seed is agreed on across ranks.
        self.seed = sync_random_seed() if seed is None else int(seed)
        self.epoch = 0
        self._skip = 0       # indices of the next pass to skip (set by load_state_dict)
        self._counted = 0    # indices of the current pass handed out (see _position)
        # (list iterator, position at its end) while a pass over a list is running: the
        # position is then read off the iterator instead of counted per index.
        self._live: tuple[Any, int] | None = None

    @property
    def _position(self) -> int:
        """Indices of the current pass already handed out (skipped ones included)."""
        if self._live is not None:
            iterator, end = self._live
            return end - iterator.__length_hint__()
        return self._counted

    @_position.setter
    def _position(self, value: int) -> None:
        self._live = None
        self._counted = value

    def _track(self, indices: Iterator[int]) -> Iterator[int]:
        """Yield ``indices`` while counting them into ``_position``."""
        for index in indices:
            self._counted += 1
            yield index

    def _track_list(self, indices: list[int]) -> Iterator[int]:
        """Iterate ``indices`` with a plain list iterator (no Python frame per index; the
        DataLoader pulls every index of every batch through it) that ``_position`` reads."""
        iterator = iter(indices)
        self._live = (iterator, self._counted + len(indices))
        return iterator

    def _take_skip(self) -> int:
        """Consume the pending skip: it applies to one pass only."""
        skip, self._skip = self._skip, 0
        self._position = skip
        return skip

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch; a shuffling sampler reshuffles deterministically from ``seed + epoch``.

        Args:
            epoch: The epoch about to start.
        """
        if epoch != self.epoch:
            self._position = 0
        self.epoch = epoch

    def state_dict(self) -> dict:
        """Return the position as plain ints: ``{'epoch', 'seed', 'skip'}``.

        ``skip`` is the number of this rank's indices of the current pass handed out so far (or
        still pending from :meth:`load_state_dict`). A DataLoader prefetches from its sampler,
        so a caller that knows how many samples were actually consumed (the runner) should
        overwrite ``skip`` with that count.
        """
        skip = self._skip if self._skip else self._position
        return {'epoch': int(self.epoch), 'seed': int(self.seed), 'skip': int(skip)}

    def load_state_dict(self, state: dict) -> None:
        """Restore a position saved by :meth:`state_dict`.

        The next ``__iter__`` skips ``state['skip']`` indices of this rank's pass; later passes
        are complete again.

        Args:
            state: The dict returned by :meth:`state_dict`.
        """
        self.epoch, self.seed, self._skip = _check_state(state, type(self).__name__)
        self._position = self._skip


@DATA_SAMPLERS.register_module()
class DefaultSampler(_ResumableSampler):
    """Sampler for epoch-based training that works the same with one process or many.

    Rank ``r`` of ``W`` takes positions ``r, r + W, ...`` of the (shuffled) index list.

    Args:
        dataset: The dataset to sample from (only its length is used).
        shuffle: Whether to shuffle the order every epoch. Defaults to True.
        seed: Shuffling seed; ``None`` draws one seed shared by all ranks. The order of epoch
            ``e`` is a permutation seeded with ``seed + e``.
        round_up: Pad the index list by repeating it from the start so that every rank gets
            the same number of samples (like ``drop_last=False`` in PyTorch). With ``False``
            the last ranks get one sample fewer when the size does not divide evenly.

    Examples:
        >>> sampler = DefaultSampler(list(range(5)), shuffle=False)
        >>> list(sampler), len(sampler)
        ([0, 1, 2, 3, 4], 5)
    """

    def __init__(self, dataset: Sized, shuffle: bool = True, seed: int | None = None,
                 round_up: bool = True) -> None:
        super().__init__(dataset, shuffle, seed)
        self.round_up = round_up
        size = len(dataset)
        if round_up:
            self.num_samples = math.ceil(size / self.world_size)
            self.total_size = self.num_samples * self.world_size
        else:
            self.num_samples = max(0, math.ceil((size - self.rank) / self.world_size))
            self.total_size = size

    def _global_indices(self) -> list[int]:
        size = len(self.dataset)
        if self.shuffle:
            generator = torch.Generator()
            generator.manual_seed(self.seed + self.epoch)
            indices = torch.randperm(size, generator=generator).tolist()
        else:
            indices = list(range(size))
        if self.round_up and size:
            repeats = self.total_size // size + 1
            indices = (indices * repeats)[:self.total_size]
        return indices

    def __iter__(self) -> Iterator[int]:
        skip = self._take_skip()
        start = self.rank + skip * self.world_size
        mine = self._global_indices()[start:self.total_size:self.world_size]
        return self._track_list(mine)

    def __len__(self) -> int:
        """This rank's number of samples in a full pass."""
        return self.num_samples


@DATA_SAMPLERS.register_module()
class InfiniteSampler(_ResumableSampler):
    """Endless sampler for iteration-based training.

    The global stream is a succession of passes over the dataset; pass ``p`` is a permutation
    seeded with ``seed + p`` (or the identity without shuffling), so any position of the stream
    can be reached without generating the passes before it. Rank ``r`` of ``W`` takes stream
    positions ``r, r + W, ...``.

    Args:
        dataset: The dataset to sample from (only its length is used).
        shuffle: Whether each pass is shuffled. Defaults to True.
        seed: Shuffling seed; ``None`` draws one seed shared by all ranks.

    Examples:
        >>> import itertools
        >>> list(itertools.islice(InfiniteSampler([0, 1, 2], shuffle=False), 7))
        [0, 1, 2, 0, 1, 2, 0]
    """

    def __init__(self, dataset: Sized, shuffle: bool = True, seed: int | None = None) -> None:
        super().__init__(dataset, shuffle, seed)
        self.size = len(dataset)

    def _pass_order(self, pass_idx: int) -> list[int]:
        if not self.shuffle:
            return list(range(self.size))
        generator = torch.Generator()
        generator.manual_seed(self.seed + pass_idx)
        return torch.randperm(self.size, generator=generator).tolist()

    def _stream(self, start: int) -> Iterator[int]:
        """The global endless stream from global position ``start`` on."""
        pass_idx, offset = divmod(start, self.size)
        while True:
            yield from self._pass_order(pass_idx)[offset:]
            pass_idx, offset = pass_idx + 1, 0

    def __iter__(self) -> Iterator[int]:
        skip = self._take_skip()
        if self.size == 0:  # an empty dataset would otherwise loop forever yielding nothing
            return iter(())
        start = self.rank + skip * self.world_size
        mine = itertools.islice(self._stream(start), 0, None, self.world_size)
        return self._track(mine)

    def __len__(self) -> int:
        """The dataset length (the sampler itself never ends)."""
        return self.size

    def set_epoch(self, epoch: int) -> None:
        """Record the epoch; the endless stream does not depend on it."""
        self.epoch = epoch
