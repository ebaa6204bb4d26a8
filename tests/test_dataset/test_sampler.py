"""DefaultSampler / InfiniteSampler: sharding, determinism and part-way resume."""
from __future__ import annotations

import itertools

import pytest

from mmengine.dataset import DefaultSampler, InfiniteSampler
from mmengine.dataset import sampler as sampler_module
from mmengine.registry import DATA_SAMPLERS


def _on_rank(monkeypatch, rank: int, world_size: int) -> None:
    monkeypatch.setattr(sampler_module, 'get_dist_info', lambda: (rank, world_size))


def _shards(monkeypatch, cls, size, world_size, **kwargs):
    shards = []
    for rank in range(world_size):
        _on_rank(monkeypatch, rank, world_size)
        sampler = cls(list(range(size)), **kwargs)
        shards.append((list(sampler) if cls is DefaultSampler
                       else list(itertools.islice(sampler, 2 * size)), len(sampler)))
    return shards


@pytest.mark.parametrize('size,world_size', [(10, 3), (9, 3), (2, 3), (7, 2)])
def test_default_round_up_shards_equally_by_repeating(monkeypatch, size, world_size):
    shards = _shards(monkeypatch, DefaultSampler, size, world_size, shuffle=False)
    per_rank = -(-size // world_size)
    padded = (list(range(size)) * world_size)[:per_rank * world_size]
    for rank, (indices, length) in enumerate(shards):
        assert indices == padded[rank::world_size]
        assert length == per_rank == len(indices)


@pytest.mark.parametrize('size,world_size', [(10, 3), (9, 3), (2, 3), (7, 2)])
def test_default_without_round_up_partitions_exactly(monkeypatch, size, world_size):
    shards = _shards(monkeypatch, DefaultSampler, size, world_size, shuffle=False,
                     round_up=False)
    for rank, (indices, length) in enumerate(shards):
        assert indices == list(range(rank, size, world_size))
        assert length == len(indices)
    assert sorted(i for indices, _ in shards for i in indices) == list(range(size))


def test_default_shuffled_shards_cover_dataset(monkeypatch):
    shards = _shards(monkeypatch, DefaultSampler, 11, 2, seed=3, round_up=False)
    merged = sorted(i for indices, _ in shards for i in indices)
    assert merged == list(range(11))
    assert [i for indices, _ in shards for i in indices] != list(range(11))


def test_default_determinism_by_seed_and_epoch():
    def order(seed, epoch):
        sampler = DefaultSampler(range(50), seed=seed)
        sampler.set_epoch(epoch)
        return list(sampler)

    assert order(1, 0) == order(1, 0)
    assert order(1, 0) != order(2, 0)
    assert order(1, 0) != order(1, 1)
    assert sorted(order(1, 1)) == list(range(50))


def test_default_seed_none_uses_a_shared_seed(monkeypatch):
    monkeypatch.setattr(sampler_module, 'sync_random_seed', lambda: 1234)
    assert DefaultSampler(range(5)).seed == 1234
    assert list(DefaultSampler(range(20))) == list(DefaultSampler(range(20), seed=1234))


@pytest.mark.parametrize('round_up', [True, False])
def test_default_resume_part_way_yields_the_rest(monkeypatch, round_up):
    _on_rank(monkeypatch, 1, 3)
    full = DefaultSampler(range(20), seed=5, round_up=round_up)
    full.set_epoch(2)
    expected = list(full)

    resumed = DefaultSampler(range(20), seed=99, round_up=round_up)
    resumed.load_state_dict({'epoch': 2, 'seed': 5, 'skip': 4})
    assert list(resumed) == expected[4:]
    assert list(resumed) == expected  # the skip applies to one pass only
    assert len(resumed) == len(expected)


def test_default_resume_does_not_touch_the_dataset():
    class Untouchable:
        def __len__(self):
            return 8

        def __getitem__(self, idx):
            raise AssertionError('a sampler must not read samples')

    sampler = DefaultSampler(Untouchable(), shuffle=False)
    sampler.load_state_dict({'epoch': 0, 'seed': 0, 'skip': 6})
    assert list(sampler) == [6, 7]


def test_default_state_dict_tracks_position():
    sampler = DefaultSampler(range(10), seed=0)
    assert sampler.state_dict() == {'epoch': 0, 'seed': 0, 'skip': 0}
    iterator = iter(sampler)
    consumed = [next(iterator) for _ in range(3)]
    state = sampler.state_dict()
    assert state == {'epoch': 0, 'seed': 0, 'skip': 3}
    assert all(type(value) is int for value in state.values())
    other = DefaultSampler(range(10), seed=7)
    other.load_state_dict(state)
    assert consumed + list(other) == list(DefaultSampler(range(10), seed=0))
    sampler.set_epoch(1)
    assert sampler.state_dict()['skip'] == 0


def test_load_state_dict_rejects_bad_state():
    sampler = DefaultSampler(range(4), seed=0)
    with pytest.raises(KeyError, match='skip'):
        sampler.load_state_dict({'epoch': 0, 'seed': 0})
    with pytest.raises(ValueError, match='skip'):
        sampler.load_state_dict({'epoch': 0, 'seed': 0, 'skip': -1})
    with pytest.raises(TypeError):
        sampler.load_state_dict([0, 0, 0])


def test_infinite_sharding_and_passes(monkeypatch):
    shards = _shards(monkeypatch, InfiniteSampler, 5, 2, shuffle=False)
    assert shards[0][0] == [0, 2, 4, 1, 3, 0, 2, 4, 1, 3]
    assert shards[1][0] == [1, 3, 0, 2, 4, 1, 3, 0, 2, 4]
    assert shards[0][1] == 5

    _on_rank(monkeypatch, 0, 1)
    stream = list(itertools.islice(InfiniteSampler(range(6), seed=3), 18))
    passes = [stream[i:i + 6] for i in range(0, 18, 6)]
    assert all(sorted(p) == list(range(6)) for p in passes)
    assert passes[0] != passes[1]


def test_infinite_resume_matches_the_uninterrupted_stream(monkeypatch):
    _on_rank(monkeypatch, 1, 2)
    expected = list(itertools.islice(InfiniteSampler(range(7), seed=11), 40))
    for skip in (0, 3, 4, 17):
        resumed = InfiniteSampler(range(7), seed=0)
        resumed.load_state_dict({'epoch': 0, 'seed': 11, 'skip': skip})
        assert list(itertools.islice(resumed, 40 - skip)) == expected[skip:]

    sampler = InfiniteSampler(range(7), seed=11)
    iterator = iter(sampler)
    for _ in range(9):
        next(iterator)
    assert sampler.state_dict()['skip'] == 9
    sampler.set_epoch(3)  # the endless stream ignores epochs
    assert sampler.state_dict() == {'epoch': 3, 'seed': 11, 'skip': 9}


def test_infinite_empty_dataset_stops():
    assert list(InfiniteSampler([], seed=0)) == []


def test_samplers_are_registered():
    sampler = DATA_SAMPLERS.build(dict(type='DefaultSampler', dataset=range(3), shuffle=False))
    assert isinstance(sampler, DefaultSampler)
    assert DATA_SAMPLERS.get('InfiniteSampler') is InfiniteSampler
