"""Runner environment: multiprocessing, cuDNN, distributed initialisation and randomness.

Functions here return what they decide; the Runner facade stores it.
"""
from __future__ import annotations

import logging
import warnings
from datetime import timedelta
from typing import Any

import torch

from ..dist import get_dist_info, init_dist, is_distributed
from ..logging import print_log
from ..utils.dl_utils import set_multi_processing

_ENV_KEYS = ('dist_cfg', 'mp_cfg', 'cudnn_benchmark', 'resource_limit')


def _normalize_env_cfg(env_cfg: dict) -> dict:
    """Accept the tutorial's flat ``backend=`` form next to ``dist_cfg=dict(backend=...)``."""
    if not isinstance(env_cfg, dict):
        raise TypeError(f'env_cfg must be a dict, but got {type(env_cfg).__name__}: '
                        f'{env_cfg!r}.')
    cfg = dict(env_cfg)
    dist_cfg = dict(cfg.get('dist_cfg') or {})
    if 'backend' in cfg:  # compat: `env_cfg=dict(backend='nccl')` as in the tutorial
        dist_cfg.setdefault('backend', cfg.pop('backend'))
    cfg['dist_cfg'] = dist_cfg
    unknown = set(cfg) - set(_ENV_KEYS)
    if unknown:
        warnings.warn(f'env_cfg keys {sorted(unknown)} are not used; valid keys are '
                      f'{list(_ENV_KEYS)}.', stacklevel=3)
    return cfg


def setup_env(env_cfg: dict, launcher: str) -> tuple[bool, int, int]:
    """Apply ``env_cfg`` and initialise distributed training for ``launcher``.

    Returns:
        ``(distributed, rank, world_size)``.
    """
    cfg = _normalize_env_cfg(env_cfg)
    if cfg.get('cudnn_benchmark'):
        torch.backends.cudnn.benchmark = True
    distributed = launcher != 'none'
    set_multi_processing(**dict(cfg.get('mp_cfg') or {}), distributed=distributed)
    if distributed and not is_distributed():
        dist_cfg = dict(cfg['dist_cfg'])
        timeout = dist_cfg.get('timeout')
        if isinstance(timeout, (int, float)):
            dist_cfg['timeout'] = timedelta(seconds=timeout)
        if dist_cfg.get('backend', 'nccl') == 'nccl' and not torch.cuda.is_available():
            print_log("dist_cfg.backend='nccl' needs CUDA, which is not available; using "
                      "'gloo' instead.", logger='current', level=logging.WARNING)
            dist_cfg['backend'] = 'gloo'
        init_dist(launcher, **dist_cfg)
    rank, world_size = get_dist_info()
    return distributed, rank, world_size


def check_launcher(launcher: str) -> str:
    """Validate the ``launcher`` argument."""
    choices = ('none', 'pytorch', 'slurm', 'mpi')
    if launcher not in choices:
        raise ValueError(f'launcher must be one of {choices}, but got {launcher!r}.')
    return launcher


def randomness_info(randomness: dict) -> dict[str, Any]:
    """Validate the ``randomness`` dict: ``seed``, ``diff_rank_seed``, ``deterministic``."""
    if not isinstance(randomness, dict):
        raise TypeError(f'randomness must be a dict, but got {type(randomness).__name__}.')
    unknown = set(randomness) - {'seed', 'diff_rank_seed', 'deterministic'}
    if unknown:
        raise ValueError(f'Unknown randomness keys {sorted(unknown)}; valid keys are seed, '
                         f'diff_rank_seed and deterministic.')
    return dict(randomness)
