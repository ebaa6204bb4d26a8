"""Across 2 gloo ranks: shared sampler seed; metric results in dataset order, padding dropped,
computed once and broadcast."""
from __future__ import annotations

import pytest

from mmengine.dataset import DefaultSampler
from mmengine.dist import all_gather_object
from mmengine.evaluator import Evaluator

from ._metrics import RecordingMetric


def _check_shared_seed_sharding(world_size):
    """With seed=None the ranks agree on one seed, so their shuffled shards partition the data."""
    sampler = DefaultSampler(list(range(9)), seed=None, round_up=False)
    shards = all_gather_object(list(sampler))
    assert sorted(i for shard in shards for i in shard) == list(range(9))
    assert len(set(all_gather_object(sampler.seed))) == 1


def _evaluate_on_ranks(rank, world_size, collect_dir):
    _check_shared_seed_sharding(world_size)
    dataset = list(range(5))
    sampler = DefaultSampler(dataset, shuffle=False, seed=0)  # rank 1 gets padding index 0
    mine = list(sampler)
    assert mine == ([0, 2, 4] if rank == 0 else [1, 3, 0])
    # over the process group (no shared filesystem), then through a shared directory
    for directory in (None, collect_dir):
        metric = RecordingMetric(prefix='rec', collect_dir=directory)
        evaluator = Evaluator(metric)
        for start in range(0, len(mine), 2):
            evaluator.process([f'sample{i}' for i in mine[start:start + 2]])
        metrics = evaluator.evaluate(len(dataset))
        assert metrics == {'rec/seen': [f'sample{i}' for i in range(5)], 'rec/count': 5}
        assert metric.computed == (1 if rank == 0 else 0)  # computed once, then broadcast
        assert metric.results == []


@pytest.mark.dist
def test_metric_collection_across_ranks_truncates_padding(tmp_path):
    from tests._helpers.dist import run_on_ranks
    run_on_ranks(_evaluate_on_ranks, world_size=2, args=(str(tmp_path / 'collect'),))
