"""Process-group queries, launching helpers and device utilities for ``mmengine.dist``.

Every query works in a plain (non-distributed) process: rank 0, world size 1.
"""
from __future__ import annotations

import datetime
import functools
import os
import re
import subprocess
import warnings
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import torch
import torch.distributed as torch_dist
from torch.distributed import ProcessGroup

_LOCAL_PROCESS_GROUP: ProcessGroup | None = None
_LAUNCHERS = ('none', 'pytorch', 'slurm', 'mpi')


def is_distributed() -> bool:
    """Whether the default process group is initialized."""
    return torch_dist.is_available() and torch_dist.is_initialized()


def get_local_group() -> ProcessGroup | None:
    """The group of processes on this node (set by :func:`init_local_group`), or None."""
    return _LOCAL_PROCESS_GROUP if is_distributed() else None


def get_default_group() -> ProcessGroup | None:
    """The default (world) process group, or None when not distributed."""
    return torch_dist.distributed_c10d._get_default_group() if is_distributed() else None


def infer_launcher() -> str:
    """Guess the launcher from the environment: ``'pytorch'``, ``'slurm'``, ``'mpi'`` or
    ``'none'``."""
    if 'WORLD_SIZE' in os.environ and 'RANK' in os.environ:
        return 'pytorch'
    if 'SLURM_NTASKS' in os.environ:
        return 'slurm'
    if 'OMPI_COMM_WORLD_LOCAL_RANK' in os.environ:
        return 'mpi'
    return 'none'


def _resolve_backend(backend: str) -> str:
    if backend == 'nccl' and not torch.cuda.is_available():
        warnings.warn("backend 'nccl' needs CUDA, which is not available; using 'gloo'.",
                      stacklevel=3)
        return 'gloo'
    return backend


def _first_slurm_host(node_list: str) -> str:
    """First host of a SLURM node list such as ``'gpu[03-05,08],cpu1'`` (-> ``'gpu03'``)."""
    try:
        out = subprocess.run(['scontrol', 'show', 'hostnames', node_list], capture_output=True,
                             text=True, timeout=10, check=True).stdout.split()
        if out:
            return out[0]
    except (OSError, subprocess.SubprocessError):
        pass  # scontrol absent or failing: parse the list ourselves
    match = re.match(r'([^,\[]+)(?:\[([^\]]+)\])?', node_list)
    if match is None:
        raise ValueError(f'Cannot parse SLURM_NODELIST={node_list!r}.')
    prefix, ranges = match.group(1), match.group(2)
    return prefix + ranges.split(',')[0].split('-')[0] if ranges else prefix


def _set_master_port(port: int | None) -> None:
    # An explicit port wins; otherwise keep the environment's, else the usual default.
    if port is not None:
        os.environ['MASTER_PORT'] = str(port)
    os.environ.setdefault('MASTER_PORT', '29500')


def _setup_slurm_env(port: int | None) -> None:
    proc_id, ntasks = int(os.environ['SLURM_PROCID']), int(os.environ['SLURM_NTASKS'])
    num_gpus = max(torch.cuda.device_count(), 1)
    _set_master_port(port)
    os.environ.setdefault('MASTER_ADDR', _first_slurm_host(os.environ['SLURM_NODELIST']))
    os.environ['WORLD_SIZE'] = str(ntasks)
    os.environ['LOCAL_WORLD_SIZE'] = os.environ.get('SLURM_NTASKS_PER_NODE', str(num_gpus))
    os.environ['LOCAL_RANK'] = str(proc_id % num_gpus)
    os.environ['RANK'] = str(proc_id)


def _setup_mpi_env(port: int | None) -> None:
    os.environ['LOCAL_RANK'] = os.environ['OMPI_COMM_WORLD_LOCAL_RANK']
    os.environ['LOCAL_WORLD_SIZE'] = os.environ.get('OMPI_COMM_WORLD_LOCAL_SIZE', '1')
    os.environ['WORLD_SIZE'] = os.environ['OMPI_COMM_WORLD_SIZE']
    os.environ['RANK'] = os.environ['OMPI_COMM_WORLD_RANK']
    os.environ.setdefault('MASTER_ADDR', '127.0.0.1')
    _set_master_port(port)


def init_dist(launcher: str, backend: str = 'nccl', init_backend: str = 'torch',
              **kwargs: Any) -> None:
    """Initialize the default process group from a launcher's environment.

    Args:
        launcher: ``'pytorch'`` (torchrun variables), ``'slurm'`` (``SLURM_*``) or ``'mpi'``
            (``OMPI_COMM_WORLD_*``).
        backend: Communication backend; ``'nccl'`` falls back to ``'gloo'`` without CUDA.
        init_backend: ``'torch'``, or ``'deepspeed'`` / ``'colossalai'`` to let that library
            initialize the group.
        **kwargs: ``port`` (slurm/mpi master port), ``timeout`` (seconds), and further
            arguments of :func:`torch.distributed.init_process_group`.
    """
    if launcher not in _LAUNCHERS[1:]:
        raise ValueError(f'launcher must be one of {_LAUNCHERS[1:]}, but got {launcher!r}.')
    port = kwargs.pop('port', None)
    if launcher == 'slurm':
        _setup_slurm_env(port)
    elif launcher == 'mpi':
        _setup_mpi_env(port)
    backend = _resolve_backend(backend)
    if backend == 'nccl':
        torch.cuda.set_device(int(os.environ.get('LOCAL_RANK', 0)))
    if isinstance(kwargs.get('timeout'), int | float):
        kwargs['timeout'] = datetime.timedelta(seconds=kwargs['timeout'])
    if init_backend == 'torch':
        # Explicit rank/world size also serve init methods that do not read the environment.
        kwargs.setdefault('rank', int(os.environ['RANK']))
        kwargs.setdefault('world_size', int(os.environ['WORLD_SIZE']))
        torch_dist.init_process_group(backend=backend, **kwargs)
    elif init_backend == 'deepspeed':
        import deepspeed
        deepspeed.init_distributed(dist_backend=backend, **kwargs)
    elif init_backend == 'colossalai':
        import colossalai
        colossalai.launch_from_torch(backend=backend, **kwargs)
    else:
        raise ValueError("init_backend must be 'torch', 'deepspeed' or 'colossalai', but got "
                         f'{init_backend!r}.')


def init_local_group(node_rank: int, num_gpus_per_node: int) -> None:
    """Create one process group per node and remember the one holding this process.

    Every rank must call this (``new_group`` is collective).
    """
    global _LOCAL_PROCESS_GROUP
    if _LOCAL_PROCESS_GROUP is not None:
        return
    num_nodes = torch_dist.get_world_size() // num_gpus_per_node
    for node in range(num_nodes):
        ranks = list(range(node * num_gpus_per_node, (node + 1) * num_gpus_per_node))
        group = torch_dist.new_group(ranks)
        if node == node_rank:
            _LOCAL_PROCESS_GROUP = group


def get_backend(group: ProcessGroup | None = None) -> str | None:
    """Backend name of ``group`` (default group if None), or None when not distributed."""
    if not is_distributed():
        return None
    return str(torch_dist.get_backend(group or get_default_group()))


def get_world_size(group: ProcessGroup | None = None) -> int:
    """Number of processes in ``group`` (1 when not distributed)."""
    return torch_dist.get_world_size(group or get_default_group()) if is_distributed() else 1


def get_rank(group: ProcessGroup | None = None) -> int:
    """Rank of this process in ``group`` (0 when not distributed)."""
    return torch_dist.get_rank(group or get_default_group()) if is_distributed() else 0


def get_local_size() -> int:
    """Number of processes on this node (1 when not distributed)."""
    if not is_distributed():
        return 1
    if _LOCAL_PROCESS_GROUP is not None:
        return torch_dist.get_world_size(_LOCAL_PROCESS_GROUP)
    if 'LOCAL_WORLD_SIZE' in os.environ:
        return int(os.environ['LOCAL_WORLD_SIZE'])
    raise RuntimeError('The local group size is unknown: call init_local_group() or launch '
                       'with torchrun, which sets LOCAL_WORLD_SIZE.')


def get_local_rank() -> int:
    """Rank of this process on its node (0 when not distributed)."""
    if not is_distributed():
        return 0
    if _LOCAL_PROCESS_GROUP is not None:
        return torch_dist.get_rank(_LOCAL_PROCESS_GROUP)
    if 'LOCAL_RANK' in os.environ:
        return int(os.environ['LOCAL_RANK'])
    raise RuntimeError('The local rank is unknown: call init_local_group() or launch with '
                       'torchrun, which sets LOCAL_RANK.')


def get_dist_info(group: ProcessGroup | None = None) -> tuple[int, int]:
    """``(rank, world_size)`` of ``group``; ``(0, 1)`` when not distributed."""
    return get_rank(group), get_world_size(group)


def is_main_process(group: ProcessGroup | None = None) -> bool:
    """Whether this process has rank 0 in ``group``."""
    return get_rank(group) == 0


def master_only(func: Callable) -> Callable:
    """Decorator: run ``func`` on the main process only (others get None)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if is_main_process():
            return func(*args, **kwargs)
        return None

    return wrapper


def barrier(group: ProcessGroup | None = None) -> None:
    """Wait until every process of ``group`` reaches this point (no-op when not distributed)."""
    if is_distributed():
        torch_dist.barrier(group or get_default_group())


def get_data_device(data: Any) -> torch.device:
    """The one device shared by the tensors in ``data`` (a tensor, sequence or mapping).

    Raises:
        ValueError: If the tensors live on different devices or there is none.
        TypeError: If ``data`` holds something other than tensors.
    """
    if isinstance(data, torch.Tensor):
        return data.device
    if isinstance(data, Mapping):
        items: Iterable = data.values()
    elif isinstance(data, Iterable) and not isinstance(data, str | bytes):
        items = data
    else:
        raise TypeError('data must be a tensor or a sequence/mapping of tensors, but got '
                        f'{type(data).__name__}.')
    devices = {get_data_device(item) for item in items}
    if len(devices) != 1:
        raise ValueError('data must hold tensors on exactly one device, but found '
                         f'{sorted(map(str, devices)) or "no tensors"}.')
    return devices.pop()


_BACKEND_DEVICES = {'nccl': 'cuda', 'cncl': 'mlu', 'hccl': 'npu', 'mccl': 'musa'}


def get_comm_device(group: ProcessGroup | None = None) -> torch.device:
    """Device the backend of ``group`` communicates from (CPU for gloo or no group)."""
    device_type = _BACKEND_DEVICES.get(get_backend(group) or '')
    if device_type is None:
        return torch.device('cpu')
    module = getattr(torch, device_type)
    return torch.device(device_type, module.current_device())


def cast_data_device(data: Any, device: torch.device, out: Any | None = None) -> Any:
    """Copy ``data`` (tensor, sequence or mapping of tensors) to ``device``.

    Args:
        data: What to move.
        device: Target device.
        out: Optional structure of the same shape to copy into in place; it is returned.
    """
    if isinstance(data, torch.Tensor):
        if out is None:
            return data.to(device)
        if not isinstance(out, torch.Tensor):
            raise TypeError(f'out must be a tensor like data, but got {type(out).__name__}.')
        return out.copy_(data)
    if isinstance(data, Mapping):
        if out is None:
            return type(data)({k: cast_data_device(v, device) for k, v in data.items()})
        for key, value in data.items():
            cast_data_device(value, device, out[key])
        return out
    if isinstance(data, Iterable) and not isinstance(data, str | bytes):
        if out is None:
            return type(data)(cast_data_device(v, device) for v in data)
        for value, target in zip(data, out):
            cast_data_device(value, device, target)
        return out
    raise TypeError('data must be a tensor or a sequence/mapping of tensors, but got '
                    f'{type(data).__name__}.')
