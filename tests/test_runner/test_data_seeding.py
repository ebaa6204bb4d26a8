"""RunnerDataLoader reads single-process, map-style loaders in the main process itself: the
batches, their order and the random streams must be exactly those of torch's iterator."""
from __future__ import annotations

import warnings

import pytest
import torch
from torch.utils.data import DataLoader, IterableDataset, TensorDataset

from mmengine.dataset import DefaultSampler, default_collate
from mmengine.runner._data_seeding import RunnerDataLoader, SeededDataset


class Batched(TensorDataset):
    """A dataset fetching whole batches at once (torch's ``__getitems__`` protocol)."""

    def __getitems__(self, indices):
        return [(self.tensors[0][i] * 10, self.tensors[1][i]) for i in indices]


def _dataset(kind=TensorDataset):
    g = torch.Generator().manual_seed(0)
    return kind(torch.randn(10, 2, generator=g), torch.arange(10))


CASES = {
    'shuffle': dict(batch_size=3, shuffle=True),
    'drop_last': dict(batch_size=3, shuffle=True, drop_last=True),
    'no_batching': dict(batch_size=None),
    'getitems': dict(batch_size=4, dataset=Batched),
    'default_sampler': dict(batch_size=2, sampler=True, collate_fn=default_collate),
}


def _pair(case):
    """A RunnerDataLoader and a torch DataLoader built alike, the torch generator seeded the
    way RunnerDataLoader seeds its own for the first pass."""
    kwargs = dict(CASES[case])
    dataset = _dataset(kwargs.pop('dataset', TensorDataset))
    samplers = []
    if kwargs.pop('sampler', False):
        samplers = [DefaultSampler(dataset, shuffle=True, seed=3) for _ in range(2)]
    ours = RunnerDataLoader(dataset, seed=5, **kwargs,
                            **(dict(sampler=samplers[0]) if samplers else {}))
    theirs = DataLoader(dataset, generator=torch.Generator().manual_seed(5), **kwargs,
                        **(dict(sampler=samplers[1]) if samplers else {}))
    return ours, theirs


def _same(batch_a, batch_b):
    if isinstance(batch_a, torch.Tensor):
        return torch.equal(batch_a, batch_b)
    return len(batch_a) == len(batch_b) and all(map(_same, batch_a, batch_b))


@pytest.mark.parametrize('case', sorted(CASES))
def test_in_process_batches_equal_torchs(case):
    ours, theirs = _pair(case)
    iterator = iter(ours)
    assert type(iterator).__name__ == '_InProcessBatches'
    assert len(iterator) == len(ours)
    mine, reference = list(iterator), list(theirs)
    assert len(mine) == len(reference) == len(ours)
    assert all(map(_same, mine, reference))
    # The same random numbers were drawn from the generators: the next pass agrees too.
    assert torch.equal(ours.generator.get_state(), theirs.generator.get_state())


def test_without_a_generator_the_global_stream_moves_as_with_torch():
    dataset = _dataset()
    ours = RunnerDataLoader(dataset, batch_size=3, shuffle=True, generator=None)
    theirs = DataLoader(dataset, batch_size=3, shuffle=True)
    torch.manual_seed(7)
    mine = list(ours)
    after_ours = torch.get_rng_state()
    torch.manual_seed(7)
    reference = list(theirs)
    assert all(map(_same, mine, reference))
    assert torch.equal(after_ours, torch.get_rng_state())


def test_keyed_samples_are_fetched_under_their_seeds():
    class Noisy(TensorDataset):
        def __getitem__(self, index):
            return torch.rand(()), self.tensors[1][index]

    dataset = SeededDataset(_dataset(Noisy))
    ours = RunnerDataLoader(dataset, batch_size=2, seed=1, keyed=True)
    first, second = list(ours), list(ours)
    assert all(map(_same, first, second))  # each sample's noise is its key's, every pass
    assert len({float(v) for batch in first for v in batch[0]}) == 10


def test_a_running_profiler_sees_each_batch_and_none_is_opened_otherwise(monkeypatch):
    opened = []
    record_function = torch.autograd.profiler.record_function

    def spy(name):
        opened.append(name)
        return record_function(name)

    monkeypatch.setattr(torch.autograd.profiler, 'record_function', spy)
    loader = RunnerDataLoader(_dataset(), batch_size=5)
    assert len(list(loader)) == 2 and not opened
    with torch.profiler.profile() as prof:
        list(loader)
    # (two batches, and the call that ends the pass, as with torch's iterator)
    assert opened == ['enumerate(DataLoader)#_SingleProcessDataLoaderIter.__next__'] * 3
    assert any(event.name == opened[0] for event in prof.events())


def test_pinned_memory_and_iterable_datasets_keep_torchs_iterator():
    class Stream(IterableDataset):
        def __iter__(self):
            return iter(range(4))

    assert type(iter(RunnerDataLoader(Stream(), batch_size=2))).__name__ == \
        '_SingleProcessDataLoaderIter'
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # (no accelerator to pin memory for)
        pinned = iter(RunnerDataLoader(_dataset(), batch_size=2, pin_memory=True))
    assert type(pinned).__name__ == '_SingleProcessDataLoaderIter'
