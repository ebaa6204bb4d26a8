"""Runner utilities: dynamic validation intervals and seeding."""
from __future__ import annotations

import os
import random

import numpy as np
import torch

from ..dist import get_rank, sync_random_seed
from ..logging import print_log


def calc_dynamic_intervals(start_interval: int,
                           dynamic_interval_list: list[tuple[int, int]] | None = None
                           ) -> tuple[list[int], list[int]]:
    """Expand ``dynamic_intervals`` into the milestones and the interval in force from each.

    Args:
        start_interval: The interval used from the start.
        dynamic_interval_list: ``[(milestone, interval), ...]``: from ``milestone`` on (an
            epoch or iteration), validate every ``interval``. Milestones must increase.

    Returns:
        ``(milestones, intervals)``, both starting with ``0`` and ``start_interval``.

    Examples:
        >>> calc_dynamic_intervals(1, [(5, 2), (8, 4)])
        ([0, 5, 8], [1, 2, 4])
    """
    milestones, intervals = [0], [start_interval]
    if dynamic_interval_list is None:
        return milestones, intervals
    for item in dynamic_interval_list:
        if not (isinstance(item, (list, tuple)) and len(item) == 2):
            raise TypeError(f'dynamic_intervals must be a list of (milestone, interval) pairs, '
                            f'but got the item {item!r}.')
        milestone, interval = item
        if milestone <= milestones[-1] and milestones[-1] != 0:
            raise ValueError(f'dynamic_intervals milestones must increase, but got '
                             f'{dynamic_interval_list!r}.')
        milestones.append(milestone)
        intervals.append(interval)
    return milestones, intervals


def set_random_seed(seed: int | None = None, deterministic: bool = False,
                    diff_rank_seed: bool = False) -> int:
    """Seed Python, numpy and torch (all devices); draw a seed shared by all ranks if None.

    Args:
        seed: The seed. None draws one (agreed across ranks).
        deterministic: Use deterministic algorithms (``torch.use_deterministic_algorithms``,
            cuDNN deterministic, no benchmark).
        diff_rank_seed: Offset the seed by the rank so each process differs.

    Returns:
        The seed used before the rank offset.
    """
    if seed is None:
        seed = sync_random_seed()
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise TypeError(f'seed must be an int or None, but got {type(seed).__name__}: {seed!r}.')
    used = seed + get_rank() if diff_rank_seed else seed
    random.seed(used)
    np.random.seed(used % 2**32)
    torch.manual_seed(used)
    os.environ['PYTHONHASHSEED'] = str(used)
    if deterministic:
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
        # cuBLAS needs this workspace setting for deterministic matmuls on CUDA.
        os.environ.setdefault('CUBLAS_WORKSPACE_CONFIG', ':4096:8')
        torch.use_deterministic_algorithms(True, warn_only=True)
        print_log('deterministic training is enabled; it may be slower.', logger='current')
    return seed


__all__ = ['calc_dynamic_intervals', 'set_random_seed']
