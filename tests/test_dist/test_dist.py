from __future__ import annotations

import os

import pytest
import torch

import mmengine.dist as dist
from tests._helpers.dist import run_on_ranks

# ----------------------------------------------------------------- single process (identity)


def test_queries_without_process_group():
    assert not dist.is_distributed()
    assert dist.get_dist_info() == (0, 1)
    assert dist.get_rank() == 0 and dist.get_world_size() == 1
    assert dist.get_local_rank() == 0 and dist.get_local_size() == 1
    assert dist.is_main_process()
    assert dist.get_backend() is None
    assert dist.get_default_group() is None and dist.get_local_group() is None
    assert dist.get_comm_device() == torch.device('cpu')
    dist.barrier()


def test_collectives_are_identities_without_process_group():
    data = torch.tensor([1.0, 2.0])
    dist.all_reduce(data, op='mean')
    assert data.tolist() == [1.0, 2.0]
    assert dist.all_gather(data)[0] is data
    assert dist.gather(data)[0] is data
    dist.broadcast(data)
    assert data.tolist() == [1.0, 2.0]
    objs = ['a', {'b': 1}]
    dist.broadcast_object_list(objs)
    assert objs == ['a', {'b': 1}]
    assert dist.all_gather_object({'x': 1}) == [{'x': 1}]
    assert dist.gather_object(3) == [3]
    d = {'a': torch.tensor(1.0)}
    dist.all_reduce_dict(d)
    assert d['a'].item() == 1.0
    assert isinstance(dist.sync_random_seed(), int)
    assert dist.collect_results([0, 1, 2, 3], 3) == [0, 1, 2]
    assert dist.collect_results([0, 1, 2], 5, device='gpu') == [0, 1, 2]
    params = [torch.nn.Parameter(torch.ones(2))]
    dist.all_reduce_params(params)
    assert params[0].data.tolist() == [1.0, 1.0]


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match='op must be one of'):
        dist.all_reduce(torch.ones(1), op='median')
    with pytest.raises(ValueError, match="device must be 'cpu' or 'gpu'"):
        dist.collect_results([], 0, device='tpu')
    with pytest.raises(TypeError, match='must be a list'):
        dist.broadcast_object_list(('a',))
    with pytest.raises(ValueError, match='launcher must be one of'):
        dist.init_dist('torchx')


def test_master_only_runs_on_rank_zero():
    calls = []

    @dist.master_only
    def record(x):
        calls.append(x)
        return x

    assert record(5) == 5 and calls == [5]


def test_infer_launcher(monkeypatch):
    for key in ('WORLD_SIZE', 'RANK', 'SLURM_NTASKS', 'OMPI_COMM_WORLD_LOCAL_RANK'):
        monkeypatch.delenv(key, raising=False)
    assert dist.infer_launcher() == 'none'
    monkeypatch.setenv('OMPI_COMM_WORLD_LOCAL_RANK', '0')
    assert dist.infer_launcher() == 'mpi'
    monkeypatch.setenv('SLURM_NTASKS', '2')
    assert dist.infer_launcher() == 'slurm'
    monkeypatch.setenv('WORLD_SIZE', '2')
    monkeypatch.setenv('RANK', '0')
    assert dist.infer_launcher() == 'pytorch'


def test_data_device_helpers():
    cpu = torch.device('cpu')
    t = torch.zeros(2)
    assert dist.get_data_device(t) == cpu
    assert dist.get_data_device([t, {'a': t}]) == cpu
    with pytest.raises(ValueError, match='exactly one device'):
        dist.get_data_device([])
    with pytest.raises(TypeError):
        dist.get_data_device(3)
    moved = dist.cast_data_device({'a': t, 'b': [t, t]}, cpu)
    assert set(moved) == {'a', 'b'} and isinstance(moved['b'], list)
    out = torch.empty(2)
    assert dist.cast_data_device(torch.ones(2), cpu, out=out) is out
    assert out.tolist() == [1.0, 1.0]
    with pytest.raises(TypeError):
        dist.cast_data_device('x', cpu)


def test_slurm_host_parsing(monkeypatch):
    from mmengine.dist import utils
    monkeypatch.setattr(utils.subprocess, 'run', _raise_oserror)
    assert utils._first_slurm_host('gpu[03-05,08],cpu1') == 'gpu03'
    assert utils._first_slurm_host('node7') == 'node7'


def _raise_oserror(*args, **kwargs):
    raise OSError('scontrol not found')


def test_init_dist_pytorch_falls_back_to_gloo(monkeypatch, tmp_path):
    monkeypatch.setenv('RANK', '0')
    monkeypatch.setenv('WORLD_SIZE', '1')
    monkeypatch.setenv('LOCAL_RANK', '0')
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    try:
        with pytest.warns(UserWarning, match='gloo'):
            dist.init_dist('pytorch', init_method=f'file://{tmp_path}/rdzv', timeout=30)
        assert dist.is_distributed() and dist.get_backend() == 'gloo'
        assert dist.get_dist_info() == (0, 1)
    finally:
        if torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()


def test_init_dist_mpi_sets_torch_environment(monkeypatch, tmp_path):
    for key, value in {'OMPI_COMM_WORLD_LOCAL_RANK': '0', 'OMPI_COMM_WORLD_SIZE': '1',
                       'OMPI_COMM_WORLD_RANK': '0'}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv('MASTER_PORT', raising=False)
    try:
        dist.init_dist('mpi', backend='gloo', port=29999,
                       init_method=f'file://{tmp_path}/rdzv')
        assert os.environ['RANK'] == '0' and os.environ['WORLD_SIZE'] == '1'
        assert os.environ['MASTER_PORT'] == '29999'
    finally:
        if torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()


def test_init_dist_slurm_sets_torch_environment(monkeypatch, tmp_path):
    from mmengine.dist import utils
    monkeypatch.setattr(utils.subprocess, 'run', _raise_oserror)
    for key, value in {'SLURM_PROCID': '0', 'SLURM_NTASKS': '1',
                       'SLURM_NODELIST': 'host[1-2]'}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv('MASTER_ADDR', raising=False)
    monkeypatch.delenv('MASTER_PORT', raising=False)
    try:
        dist.init_dist('slurm', backend='gloo', init_method=f'file://{tmp_path}/rdzv')
        assert os.environ['MASTER_ADDR'] == 'host1' and os.environ['RANK'] == '0'
        assert os.environ['MASTER_PORT'] == '29500'
    finally:
        if torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()


# ----------------------------------------------------------------------- two gloo processes


def _check_queries_and_tensor_collectives(rank, world_size):
    assert dist.is_distributed() and dist.get_dist_info() == (rank, 2)
    assert dist.is_main_process() == (rank == 0)
    assert dist.get_local_rank() == rank and dist.get_local_size() == 2
    assert dist.get_backend() == 'gloo'
    assert dist.get_comm_device() == torch.device('cpu')

    calls = []
    dist.master_only(calls.append)(rank)
    assert calls == ([0] if rank == 0 else [])

    data = torch.tensor([rank + 1.0, 10.0 * (rank + 1)])
    dist.all_reduce(data)
    assert data.tolist() == [3.0, 30.0]
    data = torch.tensor([rank + 1.0])
    dist.all_reduce(data, op='mean')
    assert data.tolist() == [1.5]
    data = torch.tensor([rank + 1])
    dist.all_reduce(data, op='max')
    assert data.tolist() == [2]
    data = torch.tensor([rank + 2])
    dist.all_reduce(data, op='product')
    assert data.tolist() == [6]

    gathered = dist.all_gather(torch.tensor([rank, rank]))
    assert [t.tolist() for t in gathered] == [[0, 0], [1, 1]]
    gathered = dist.gather(torch.tensor([rank * 5]), dst=1)
    assert [t.tolist() for t in gathered] == ([[0], [5]] if rank == 1 else [])

    data = torch.tensor([rank + 7])
    dist.broadcast(data, src=1)
    assert data.tolist() == [8]

    d = {'b': torch.tensor([rank * 1.0, 1.0]), 'a': torch.tensor(rank + 1)}
    if rank == 1:  # insertion order must not matter
        d = {'a': d['a'], 'b': d['b']}
    dist.all_reduce_dict(d, op='sum')
    assert d['a'].item() == 3 and d['b'].tolist() == [1.0, 2.0]

    params = [torch.nn.Parameter(torch.full((3,), rank + 1.0)),
              torch.nn.Parameter(torch.full((2, 2), 2.0 * rank))]
    dist.all_reduce_params(params, op='mean', bucket_size_mb=1)
    assert params[0].data.tolist() == [1.5] * 3 and params[1].data.sum().item() == 4.0
    params = [torch.full((2,), rank + 1.0)]
    dist.all_reduce_params(params, coalesce=False)
    assert params[0].tolist() == [3.0, 3.0]
    dist.barrier()


def _check_object_collectives(rank, world_size, tmpdir):
    objs = [{'rank': rank}, 'x'] if rank == 0 else [None, None]
    dist.broadcast_object_list(objs, src=0)
    assert objs == [{'rank': 0}, 'x']
    assert dist.all_gather_object({'r': rank}) == [{'r': 0}, {'r': 1}]
    got = dist.gather_object(rank * 10, dst=0)
    assert got == ([0, 10] if rank == 0 else None)

    seed = dist.sync_random_seed()
    assert dist.all_gather_object(seed) == [seed, seed]

    # Dataset of 5 samples sharded by a padded distributed sampler: rank 0 holds 0, 2, 4 and
    # rank 1 holds 1, 3 and a padding copy of 0.
    part = [0, 2, 4] if rank == 0 else [1, 3, 0]
    expected = [0, 1, 2, 3, 4]
    for kwargs in ({'device': 'cpu'}, {'device': 'gpu'}, {'device': 'cpu', 'tmpdir': tmpdir}):
        result = dist.collect_results(part, 5, **kwargs)
        assert result == (expected if rank == 0 else None), kwargs
    # Uneven shards without padding.
    part = [0, 2, 4] if rank == 0 else [1, 3]
    result = dist.collect_results(part, 5)
    assert result == (expected if rank == 0 else None)
    dist.barrier()
    assert not os.path.exists(os.path.join(tmpdir, 'part_0.pkl'))


@pytest.mark.dist
def test_tensor_collectives_on_two_ranks():
    run_on_ranks(_check_queries_and_tensor_collectives, world_size=2)


@pytest.mark.dist
def test_object_collectives_on_two_ranks(tmp_path):
    run_on_ranks(_check_object_collectives, world_size=2, args=(str(tmp_path / 'parts'),))


def test_all_reduce_params_buckets_split_by_size_and_dtype():
    from mmengine.dist.dist import _buckets
    big = [torch.zeros(200_000), torch.zeros(200_000), torch.zeros(10, dtype=torch.int64)]
    buckets = _buckets(big, bucket_size_mb=1)
    assert [len(b) for b in buckets] == [1, 1, 1]
    assert [len(b) for b in _buckets(big, bucket_size_mb=-1)] == [2, 1]


@pytest.mark.gpu
def test_cast_data_device_to_cuda():
    moved = dist.cast_data_device({'a': torch.ones(2)}, torch.device('cuda'))
    assert moved['a'].is_cuda and dist.get_data_device(moved) == torch.device('cuda', 0)
