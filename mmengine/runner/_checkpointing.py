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
    batch_size = _batch_size(train_loop.dataloader)
    skip = position.get('sampler', {}).get('skip')
    if skip is not None and batch_size:
        # The sampler skips samples; with a changed batch size count batches in the new one.
        consumed = int(skip) // int(batch_size)
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


# State a scheduler accumulates while stepping; everything else is its configuration.
_PROGRESS_KEYS = frozenset({'last_step', 'base_values', 'best', 'num_bad_epochs',
                            'cooldown_counter'})


def _merge_scheduler_state(scheduler: Any, saved: dict, where: str) -> tuple[dict, list[str]]:
    """The saved progress with the current scheduler's configuration (the new config wins).

    Returns:
        The state to load and one line per configuration value that changed.
    """
    current = scheduler.state_dict()
    merged, changes = dict(saved), []
    for key, value in current.items():
        if key in _PROGRESS_KEYS or key.startswith('_'):
            continue
        if key in saved and repr(saved[key]) != repr(value):
            changes.append(f'{where}.{key}: {saved[key]!r} -> {value!r}')
        merged[key] = value
    return merged, changes


def _load_group(schedulers: list, states: list, where: str) -> list[str]:
    if len(schedulers) != len(states):
        raise RuntimeError(f'The checkpoint holds {len(states)} parameter scheduler states for '
                           f'{where} but the runner has {len(schedulers)} schedulers; resume with '
                           f'the same param_scheduler config or set resume_param_scheduler=False.')
    changes: list[str] = []
    for index, (scheduler, state) in enumerate(zip(schedulers, states)):
        merged, changed = _merge_scheduler_state(
            scheduler, state, f'{where}[{index}] ({type(scheduler).__name__})')
        scheduler.load_state_dict(merged)
        changes.extend(changed)
    return changes


def load_scheduler_states(schedulers: Any, states: Any) -> list[str]:
    """Load what :func:`scheduler_states` produced into matching schedulers.

    Each scheduler continues from its saved progress (step counters, last values); its
    configuration (milestones, ``end``, factors, ...) is the current one, so a changed config
    applies from the resumed step on.

    Returns:
        One line per configuration value that differs from the checkpoint's.
    """
    if isinstance(schedulers, dict):
        changes: list[str] = []
        for name, group in schedulers.items():
            changes.extend(_load_group(group, states[name], f'param_scheduler.{name}'))
        return changes
    return _load_group(list(schedulers), list(states), 'param_scheduler')


def train_setup(train_loop: Any, world_size: int) -> dict[str, Any]:
    """What a resume compares with the config it runs under (stored in ``meta``)."""
    return dict(max_epochs=int(getattr(train_loop, 'max_epochs', 0) or 0),
                max_iters=int(getattr(train_loop, 'max_iters', 0) or 0),
                batch_size=_batch_size(train_loop.dataloader), world_size=int(world_size))


def setup_changes(saved: dict[str, Any] | None, current: dict[str, Any]) -> list[str]:
    """Lines describing how ``current`` differs from the checkpoint's :func:`train_setup`."""
    if not saved:
        return []
    return [f'{key}: {saved[key]!r} -> {value!r}' for key, value in current.items()
            if key in saved and saved[key] != value]
