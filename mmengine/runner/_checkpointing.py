"""Collect the runner's state for a checkpoint and restore it on resume.

Everything collected is plain data (tensors, numbers, strings, lists, dicts) so that the
checkpoint loads with ``torch.load(weights_only=True)``. Besides the model, optimizer wrapper,
schedulers and MessageHub, a checkpoint records the data position (sampler epoch and batches
consumed in the current pass) and the RNG states, so a resumed run continues with the next
batch, skipping at the sampler level.
"""
from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch

from .loops import _index_sampler


def rng_state() -> dict[str, Any]:
    """Python, numpy and torch (CPU and CUDA) generator states as plain data."""
    version, internal, gauss = random.getstate()
    np_name, np_keys, np_pos, np_has_gauss, np_gauss = np.random.get_state()
    state: dict[str, Any] = {
        'python': [version, list(internal), gauss],
        'numpy': [np_name, torch.from_numpy(np_keys.astype(np.int64)), int(np_pos),
                  int(np_has_gauss), float(np_gauss)],
        'torch': torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore the states recorded by :func:`rng_state`."""
    version, internal, gauss = state['python']
    random.setstate((version, tuple(internal), gauss))
    np_name, np_keys, np_pos, np_has_gauss, np_gauss = state['numpy']
    np.random.set_state((np_name, np_keys.numpy().astype(np.uint32), np_pos, np_has_gauss,
                         np_gauss))
    torch.set_rng_state(state['torch'])
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state['cuda'])


def _batch_size(dataloader: Any) -> int | None:
    size = getattr(dataloader, 'batch_size', None)
    if size is None:
        size = getattr(getattr(dataloader, 'batch_sampler', None), 'batch_size', None)
    return size


def data_position(train_loop: Any, meta: dict[str, Any], end_of_epoch: bool
                  ) -> dict[str, Any]:
    """Where the data stream stands: the sampler epoch and batches consumed in this pass.

    Args:
        train_loop: The training loop.
        meta: The checkpoint's meta; its ``epoch`` is the pass a resumed run continues.
        end_of_epoch: The save happens after an epoch ended (the next pass starts fresh).
    """
    epoch = meta['epoch'] if end_of_epoch else train_loop.epoch
    consumed = 0 if end_of_epoch else train_loop._batch_in_epoch
    position: dict[str, Any] = {'epoch': int(epoch), 'batch_in_epoch': int(consumed)}
    sampler = _index_sampler(train_loop.dataloader)
    batch_size = _batch_size(train_loop.dataloader)
    if hasattr(sampler, 'state_dict') and batch_size is not None:
        sampler_state = dict(sampler.state_dict())
        sampler_state.update(epoch=int(epoch), skip=int(consumed * batch_size))
        position['sampler'] = sampler_state
    return position


def restore_data_position(train_loop: Any, position: dict[str, Any]) -> bool:
    """Move the loop's data stream to ``position``.

    Returns:
        True when the sampler could skip to the exact batch; False when the loader's sampler
        cannot resume part-way (the pass then restarts from its beginning).
    """
    epoch, consumed = position['epoch'], position['batch_in_epoch']
    iterator = getattr(train_loop, 'dataloader_iterator', None)
    if iterator is not None:
        iterator.epoch, iterator.batch_in_epoch = epoch, consumed
    else:
        train_loop._batch_in_epoch = consumed
    sampler = _index_sampler(train_loop.dataloader)
    if 'sampler' in position and hasattr(sampler, 'load_state_dict'):
        sampler.load_state_dict(position['sampler'])
        return True
    if hasattr(sampler, 'set_epoch'):
        sampler.set_epoch(epoch)
    return consumed == 0


def scheduler_states(schedulers: Any) -> Any:
    """State dicts of a list of schedulers, or of a dict of such lists."""
    if isinstance(schedulers, dict):
        return {name: [s.state_dict() for s in group] for name, group in schedulers.items()}
    return [s.state_dict() for s in schedulers]


def load_scheduler_states(schedulers: Any, states: Any) -> None:
    """Load what :func:`scheduler_states` produced into matching schedulers."""
    if isinstance(schedulers, dict):
        for name, group in schedulers.items():
            for scheduler, state in zip(group, states[name]):
                scheduler.load_state_dict(state)
        return
    if len(schedulers) != len(states):
        raise RuntimeError(f'The checkpoint holds {len(states)} parameter scheduler states but '
                           f'the runner has {len(schedulers)} schedulers; resume with the same '
                           f'param_scheduler config or set resume_param_scheduler=False.')
    for scheduler, state in zip(schedulers, states):
        scheduler.load_state_dict(state)
