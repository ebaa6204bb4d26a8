"""Collective operations that are identities in a single process and real ones under
``torch.distributed``.

Tensors are moved to the backend's communication device (CUDA for NCCL, CPU for gloo) for the
collective and the results are moved back to the input's device.
"""
from __future__ import annotations

import os
import pickle
import shutil
import tempfile
from collections.abc import Iterable
from typing import Any

import numpy as np
import torch
import torch.distributed as torch_dist
from torch._utils import _flatten_dense_tensors, _unflatten_dense_tensors
from torch.distributed import ProcessGroup

from .utils import (
    barrier,
    cast_data_device,
    get_comm_device,
    get_default_group,
    get_rank,
    get_world_size,
)

_OPS = {'sum': torch_dist.ReduceOp.SUM, 'mean': torch_dist.ReduceOp.SUM,
        'product': torch_dist.ReduceOp.PRODUCT, 'min': torch_dist.ReduceOp.MIN,
        'max': torch_dist.ReduceOp.MAX, 'band': torch_dist.ReduceOp.BAND,
        'bor': torch_dist.ReduceOp.BOR, 'bxor': torch_dist.ReduceOp.BXOR}


def _reduce_op(op: str) -> Any:
    if op.lower() not in _OPS:
        raise ValueError(f'op must be one of {sorted(_OPS)}, but got {op!r}.')
    return _OPS[op.lower()]


def _group(group: ProcessGroup | None) -> ProcessGroup | None:
    return group if group is not None else get_default_group()


def _global_rank(group: ProcessGroup | None, group_rank: int) -> int:
    if group is None or group is get_default_group():
        return group_rank
    return torch_dist.get_global_rank(group, group_rank)


def _divide_(tensor: torch.Tensor, divisor: int) -> None:
    if tensor.is_floating_point() or tensor.is_complex():
        tensor.div_(divisor)
    else:  # integer tensors cannot hold a true mean; keep the dtype and floor
        tensor.floor_divide_(divisor)


def all_reduce(data: torch.Tensor, op: str = 'sum', group: ProcessGroup | None = None) -> None:
    """Reduce ``data`` across the group in place.

    Args:
        data: The tensor, modified in place on every rank.
        op: ``'sum'``, ``'mean'``, ``'product'``, ``'min'``, ``'max'``, ``'band'``, ``'bor'``
            or ``'bxor'``. ``'mean'`` floors integer tensors.
        group: Process group; the default one if None.
    """
    reduce_op = _reduce_op(op)
    world_size = get_world_size(group)
    if world_size == 1:
        return
    group = _group(group)
    on_device = cast_data_device(data, get_comm_device(group))
    torch_dist.all_reduce(on_device, reduce_op, group)
    if op.lower() == 'mean':
        _divide_(on_device, world_size)
    if on_device is not data:
        data.copy_(on_device)


def all_gather(data: torch.Tensor, group: ProcessGroup | None = None) -> list[torch.Tensor]:
    """Return every rank's ``data`` (same shape on all ranks), ordered by rank."""
    world_size = get_world_size(group)
    if world_size == 1:
        return [data]
    group = _group(group)
    on_device = cast_data_device(data, get_comm_device(group))
    gathered = [torch.empty_like(on_device) for _ in range(world_size)]
    torch_dist.all_gather(gathered, on_device, group)
    return [t.to(data.device) for t in gathered]


def gather(data: torch.Tensor, dst: int = 0,
           group: ProcessGroup | None = None) -> list[torch.Tensor]:
    """Return every rank's ``data`` on rank ``dst`` (ordered by rank); other ranks get ``[]``."""
    world_size = get_world_size(group)
    if world_size == 1:
        return [data]
    group = _group(group)
    on_device = cast_data_device(data, get_comm_device(group))
    is_dst = get_rank(group) == dst
    gathered = [torch.empty_like(on_device) for _ in range(world_size)] if is_dst else None
    torch_dist.gather(on_device, gathered, dst=_global_rank(group, dst), group=group)
    return [t.to(data.device) for t in gathered] if is_dst else []


def broadcast(data: torch.Tensor, src: int = 0, group: ProcessGroup | None = None) -> None:
    """Overwrite ``data`` on every rank with rank ``src``'s value (in place)."""
    if get_world_size(group) == 1:
        return
    group = _group(group)
    on_device = cast_data_device(data, get_comm_device(group))
    torch_dist.broadcast(on_device, src=_global_rank(group, src), group=group)
    if on_device is not data:
        data.copy_(on_device)


def sync_random_seed(group: ProcessGroup | None = None) -> int:
    """Draw a random seed on rank 0 and return it on every rank."""
    seed = int(np.random.randint(2**31))
    if get_world_size(group) == 1:
        return seed
    tensor = torch.tensor(seed if get_rank(group) == 0 else 0, dtype=torch.int64)
    broadcast(tensor, src=0, group=group)
    return int(tensor.item())


def _object_device(group: ProcessGroup | None) -> torch.device | None:
    device = get_comm_device(group)
    return None if device.type == 'cpu' else device


def broadcast_object_list(data: list[Any], src: int = 0,
                          group: ProcessGroup | None = None) -> None:
    """Overwrite the items of the list ``data`` with rank ``src``'s (picklable) items."""
    if not isinstance(data, list):
        raise TypeError(f'data must be a list, but got {type(data).__name__}.')
    if get_world_size(group) == 1:
        return
    group = _group(group)
    torch_dist.broadcast_object_list(data, src=_global_rank(group, src), group=group,
                                     device=_object_device(group))


def all_reduce_dict(data: dict[str, torch.Tensor], op: str = 'sum',
                    group: ProcessGroup | None = None) -> None:
    """All-reduce every tensor of ``data`` in place, with one collective per dtype.

    Every rank must hold the same keys with tensors of the same shapes.
    """
    if not isinstance(data, dict):
        raise TypeError(f'data must be a dict of tensors, but got {type(data).__name__}.')
    _reduce_op(op)
    if get_world_size(group) == 1:
        return
    keys = sorted(data)  # the same order on every rank, whatever the insertion order
    by_dtype: dict[torch.dtype, list[str]] = {}
    for key in keys:
        by_dtype.setdefault(data[key].dtype, []).append(key)
    for dtype in sorted(by_dtype, key=str):
        tensors = [data[k] for k in by_dtype[dtype]]
        flat = torch.cat([t.reshape(-1).to(tensors[0].device) for t in tensors])
        all_reduce(flat, op, group)
        offset = 0
        for tensor in tensors:
            tensor.copy_(flat[offset:offset + tensor.numel()].view_as(tensor))
            offset += tensor.numel()


def all_gather_object(data: Any, group: ProcessGroup | None = None) -> list[Any]:
    """Return every rank's picklable ``data``, ordered by rank."""
    world_size = get_world_size(group)
    if world_size == 1:
        return [data]
    gathered: list[Any] = [None] * world_size
    torch_dist.all_gather_object(gathered, data, _group(group))
    return gathered


def gather_object(data: Any, dst: int = 0, group: ProcessGroup | None = None) -> list | None:
    """Return every rank's picklable ``data`` on rank ``dst``; other ranks get None."""
    world_size = get_world_size(group)
    if world_size == 1:
        return [data]
    group = _group(group)
    is_dst = get_rank(group) == dst
    if get_comm_device(group).type != 'cpu':
        # Device backends may lack gather; gathering everywhere is correct, if wasteful.
        gathered = all_gather_object(data, group)
        return gathered if is_dst else None
    gathered = [None] * world_size if is_dst else None
    torch_dist.gather_object(data, gathered, dst=_global_rank(group, dst), group=group)
    return gathered


def _interleave(parts: list[list], size: int) -> list:
    """Undo a distributed sampler's sharding: rank r held samples r, r + W, r + 2W, ..."""
    ordered = []
    for i in range(max((len(p) for p in parts), default=0)):
        ordered.extend(part[i] for part in parts if i < len(part))
    return ordered[:size]


def collect_results(results: list, size: int, device: str = 'cpu',
                    tmpdir: str | None = None) -> list | None:
    """Collect every rank's results on rank 0 in dataset order, truncated to ``size``.

    Args:
        results: This rank's results (rank r holds samples r, r + W, ...).
        size: Length of the dataset; padding added by the sampler is dropped.
        device: ``'cpu'`` gathers pickled objects over the process group (or through
            ``tmpdir``); ``'gpu'`` gathers them through the device backend.
        tmpdir: A directory every rank can reach; only used when given with ``device='cpu'``.

    Returns:
        The ordered results on rank 0, None on the other ranks.
    """
    if device not in ('cpu', 'gpu'):
        raise ValueError(f"device must be 'cpu' or 'gpu', but got {device!r}.")
    if device == 'gpu':
        if tmpdir is not None:
            raise ValueError("tmpdir is only used with device='cpu'.")
        return collect_results_gpu(results, size)
    return collect_results_cpu(results, size, tmpdir)


def _read_parts(tmpdir: str, world_size: int) -> list[list]:
    parts = []
    for i in range(world_size):
        with open(os.path.join(tmpdir, f'part_{i}.pkl'), 'rb') as f:
            parts.append(pickle.load(f))
    return parts


def collect_results_cpu(result_part: list, size: int, tmpdir: str | None = None) -> list | None:
    """:func:`collect_results` on CPU: over the process group, or through ``tmpdir``."""
    rank, world_size = get_rank(), get_world_size()
    if world_size == 1:
        return list(result_part)[:size]
    if tmpdir is None:
        parts = gather_object(list(result_part), dst=0)
        return _interleave(parts, size) if rank == 0 else None
    os.makedirs(tmpdir, exist_ok=True)
    with tempfile.NamedTemporaryFile('wb', dir=tmpdir, delete=False) as f:
        pickle.dump(list(result_part), f, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(f.name, os.path.join(tmpdir, f'part_{rank}.pkl'))  # never half-written
    barrier()
    parts = _read_parts(tmpdir, world_size) if rank == 0 else None
    barrier()  # every part is read before rank 0 deletes them
    if rank != 0:
        return None
    for i in range(world_size):
        os.remove(os.path.join(tmpdir, f'part_{i}.pkl'))
    if not os.listdir(tmpdir):
        shutil.rmtree(tmpdir, ignore_errors=True)
    return _interleave(parts, size)


def collect_results_gpu(result_part: list, size: int) -> list | None:
    """:func:`collect_results` through the device backend; the ordered list on rank 0 only."""
    if get_world_size() == 1:
        return list(result_part)[:size]
    parts = all_gather_object(list(result_part))
    return _interleave(parts, size) if get_rank() == 0 else None


def all_reduce_params(params: Iterable[torch.Tensor], coalesce: bool = True,
                      bucket_size_mb: int = -1, op: str = 'sum',
                      group: ProcessGroup | None = None) -> None:
    """All-reduce parameters (or any tensors) in place, optionally in flattened buckets.

    Args:
        params: Tensors or ``nn.Parameter`` objects (their ``.data`` is reduced).
        coalesce: Flatten same-dtype tensors into buckets to issue fewer collectives.
        bucket_size_mb: Largest bucket in MiB; -1 means one bucket per dtype and device.
        op: Reduction, as in :func:`all_reduce`.
        group: Process group; the default one if None.
    """
    _reduce_op(op)
    tensors = [p.data for p in params]
    if get_world_size(group) == 1:
        return
    if not coalesce:
        for tensor in tensors:
            all_reduce(tensor, op, group)
        return
    for bucket in _buckets(tensors, bucket_size_mb):
        flat = _flatten_dense_tensors(bucket)
        all_reduce(flat, op, group)
        for tensor, synced in zip(bucket, _unflatten_dense_tensors(flat, bucket)):
            tensor.copy_(synced)


def _buckets(tensors: list[torch.Tensor], bucket_size_mb: int) -> list[list[torch.Tensor]]:
    limit = bucket_size_mb * 1024 * 1024 if bucket_size_mb > 0 else None
    buckets: list[list[torch.Tensor]] = []
    open_buckets: dict[tuple, tuple[list, int]] = {}
    for tensor in tensors:
        key = (tensor.dtype, tensor.device)
        bucket, nbytes = open_buckets.get(key, ([], 0))
        size = tensor.numel() * tensor.element_size()
        if limit is not None and bucket and nbytes + size > limit:
            buckets.append(bucket)
            bucket, nbytes = [], 0
        bucket.append(tensor)
        open_buckets[key] = (bucket, nbytes + size)
    buckets.extend(bucket for bucket, _ in open_buckets.values())
    return buckets
