"""Collate functions and worker seeding."""
from __future__ import annotations

import random
from collections import namedtuple

import numpy as np
import pytest
import torch

from mmengine.dataset import COLLATE_FUNCTIONS, default_collate, pseudo_collate, worker_init_fn
from mmengine.registry import FUNCTIONS
from mmengine.structures import BaseDataElement

Point = namedtuple('Point', ['x', 'y'])


def _samples():
    return [
        dict(inputs=torch.full((3,), float(i)), meta=dict(name=f'img{i}', shape=(2, i)),
             array=np.full((2,), i), data_samples=BaseDataElement(label=i), point=Point(i, -i))
        for i in range(2)
    ]


def test_pseudo_collate_groups_without_stacking():
    batch = pseudo_collate(_samples())
    assert isinstance(batch['inputs'], list) and len(batch['inputs']) == 2
    assert torch.equal(batch['inputs'][1], torch.full((3,), 1.0))
    assert batch['meta'] == {'name': ['img0', 'img1'], 'shape': [[2, 2], [0, 1]]}
    assert isinstance(batch['array'], list)
    assert [d.label for d in batch['data_samples']] == [0, 1]
    assert batch['point'] == Point([0, 1], [0, -1])


def test_pseudo_collate_sequences():
    assert pseudo_collate([(1, 'a'), (2, 'b')]) == [[1, 2], ['a', 'b']]
    assert pseudo_collate([[1, 2], [3, 4]]) == [[1, 3], [2, 4]]
    assert pseudo_collate(['a', 'b']) == ['a', 'b']
    assert pseudo_collate([]) == []
    with pytest.raises(RuntimeError, match='different lengths'):
        pseudo_collate([[1, 2], [3]])


def test_default_collate_stacks_tensors_arrays_and_numbers():
    batch = default_collate(_samples())
    assert batch['inputs'].shape == (2, 3)
    assert torch.equal(batch['inputs'][:, 0], torch.tensor([0.0, 1.0]))
    assert isinstance(batch['array'], torch.Tensor) and batch['array'].shape == (2, 2)
    assert batch['meta']['name'] == ['img0', 'img1']
    assert torch.equal(batch['meta']['shape'][1], torch.tensor([0, 1]))
    assert isinstance(batch['data_samples'], list)
    assert isinstance(batch['data_samples'][0], BaseDataElement)
    assert torch.equal(batch['point'].y, torch.tensor([0, -1]))
    tensors, labels = default_collate([(torch.zeros(2), 1), (torch.ones(2), 0)])
    assert tensors.shape == (2, 2) and torch.equal(labels, torch.tensor([1, 0]))


def test_collate_functions_registered():
    assert FUNCTIONS.get('pseudo_collate') is pseudo_collate
    assert FUNCTIONS.get('default_collate') is default_collate
    assert COLLATE_FUNCTIONS is FUNCTIONS


def test_worker_init_fn_seeds_per_rank_and_worker():
    def draws(worker_id, rank):
        worker_init_fn(worker_id, num_workers=2, rank=rank, seed=10)
        return random.random(), float(np.random.rand()), float(torch.rand(1))

    assert draws(1, 0) == draws(1, 0)
    assert draws(0, 0) != draws(1, 0)
    assert draws(1, 0) != draws(1, 1)
    assert draws(0, 1) == draws(2, 0)  # both are seed + 2: the documented formula


def test_default_collate_stacks_dense_tensors_itself_and_leaves_the_rest_to_torch(monkeypatch):
    import mmengine.dataset.utils as utils
    fields = []

    def spy(field):
        fields.append(field)
        return torch.utils.data.default_collate(field)

    monkeypatch.setattr(utils, 'torch_default_collate', spy)
    samples = [(torch.full((2,), float(i)), torch.tensor(i), 0.5 * i) for i in range(3)]
    x, y, z = default_collate(samples)
    reference = torch.utils.data.default_collate(samples)
    assert torch.equal(x, reference[0]) and torch.equal(y, reference[1])
    assert x.dtype == torch.float32 and y.dtype == torch.int64 and torch.equal(z, reference[2])
    assert fields == [[0.0, 0.5, 1.0]]  # only the numbers went to torch's function
    sparse = torch.eye(2).to_sparse()
    with pytest.raises(RuntimeError, match='sparse tensors'):  # torch's message
        default_collate([sparse, sparse])


def test_default_collate_in_a_worker_process_matches():
    loader = torch.utils.data.DataLoader(
        [(torch.full((2,), float(i)), i) for i in range(4)], batch_size=2, num_workers=1,
        collate_fn=default_collate)
    batches = list(loader)
    assert torch.equal(batches[1][0], torch.tensor([[2.0, 2.0], [3.0, 3.0]]))
    assert torch.equal(batches[1][1], torch.tensor([2, 3]))
