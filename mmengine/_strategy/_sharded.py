"""Sharded checkpoints on ``torch.distributed.checkpoint`` (DCP).

A sharded checkpoint is a directory::

    epoch_3.pth/
        .metadata            # DCP: which rank wrote which piece of which tensor
        __0_0.distcp ...     # DCP: one file per rank with that rank's shards
        runner_state.pth     # meta, MessageHub, schedulers, data position, RNG (main process)

The model (``state_dict``) and optimizer (``optimizer``) entries go through DCP, so every
rank writes only its own shards and a later run on any number of ranks reads the pieces it
needs. The rest of the runner's state is small and replicated; the main process writes it as
an ordinary weights-only checkpoint file.

``torch.distributed.checkpoint`` is imported inside the functions: it is slow to import.
"""
from __future__ import annotations

import os
import os.path as osp
import tempfile
from dataclasses import dataclass

import torch

RUNNER_STATE = 'runner_state.pth'
SHARDED_KEYS = ('state_dict', 'optimizer')


@dataclass(frozen=True)
class ShardedEntry:
    """A reference to one DCP entry (``'state_dict'`` or ``'optimizer'``) of a checkpoint
    directory; it is read into the live model's shards when loaded, not before."""

    path: str
    key: str


def is_sharded_checkpoint(path: str) -> bool:
    """Whether ``path`` is a checkpoint directory written by :func:`save_sharded`."""
    return osp.isdir(path) and osp.isfile(osp.join(path, '.metadata'))


def _stored_keys(path: str) -> set[str]:
    from torch.distributed.checkpoint import FileSystemReader
    metadata = FileSystemReader(path).read_metadata()
    return {fqn.split('.', 1)[0] for fqn in metadata.state_dict_metadata}


def save_sharded(checkpoint: dict, path: str) -> None:
    """Write ``checkpoint`` as a sharded checkpoint directory (call it on every rank).

    Raises:
        ValueError: If ``path`` is not a local path (DCP writes with the file system here).
    """
    import torch.distributed.checkpoint as dcp

    from ..dist import barrier, is_main_process
    from ..runner.checkpoint import save_checkpoint
    if '://' in path:
        raise ValueError(f'Sharded checkpoints are written to local (or mounted) paths, but '
                         f'got {path!r}; save with state_dict_type="full" for other backends.')
    sharded = {key: checkpoint[key] for key in SHARDED_KEYS if key in checkpoint}
    rest = {key: value for key, value in checkpoint.items() if key not in SHARDED_KEYS}
    os.makedirs(path, exist_ok=True)
    dcp.save(sharded, checkpoint_id=path)
    if is_main_process():
        save_checkpoint(rest, osp.join(path, RUNNER_STATE))
    # Nobody may read the directory (or the hook's last_checkpoint pointer) half-written.
    barrier()


def read_runner_state(path: str) -> dict:
    """The replicated part of a sharded checkpoint, with lazy entries for the DCP part."""
    from ..runner.checkpoint import _load_checkpoint
    checkpoint = dict(_load_checkpoint(osp.join(path, RUNNER_STATE), map_location='cpu'))
    for key in _stored_keys(path):
        checkpoint[key] = ShardedEntry(path, key)
    return checkpoint


def load_sharded_into(entry: ShardedEntry, template: dict) -> dict:
    """Read ``entry`` into ``template`` (the live state dict, its tensors possibly sharded).

    DCP fills each tensor of the template in place with the pieces this rank owns, whatever
    the number of ranks that wrote them.
    """
    import torch.distributed.checkpoint as dcp

    from ..dist import is_distributed
    state = {entry.key: template}
    dcp.load(state, checkpoint_id=entry.path, no_dist=not is_distributed())
    return state[entry.key]


def read_sharded_full(path: str) -> dict:
    """A sharded checkpoint consolidated in memory: full tensors, one process, no group."""
    from torch.distributed.checkpoint.format_utils import dcp_to_torch_save
    checkpoint = read_runner_state(path)
    with tempfile.TemporaryDirectory() as tmp:
        full_file = osp.join(tmp, 'full.pt')
        dcp_to_torch_save(path, full_file)
        full = torch.load(full_file, map_location='cpu', weights_only=True)
    for key in SHARDED_KEYS:
        if key in full:
            checkpoint[key] = full[key]
    return checkpoint


def consolidate_checkpoint(src: str, dst: str, with_optimizer: bool = False) -> None:
    """Write the sharded checkpoint directory ``src`` as one ordinary checkpoint file.

    The result holds full tensors and loads with ``load_checkpoint`` or ``load_from`` in any
    runner, on any number of processes: the form to publish. It runs in one process and
    needs no process group.

    Args:
        src: A directory written by ``FSDPStrategy`` (``state_dict_type='sharded'``).
        dst: The file to write.
        with_optimizer: Keep the optimizer state (keyed by parameter names, the form
            ``FSDPStrategy`` reads back); dropped by default, as publishing needs weights only.

    Raises:
        FileNotFoundError: If ``src`` is not a sharded checkpoint directory.
    """
    from ..runner.checkpoint import save_checkpoint
    if not is_sharded_checkpoint(src):
        raise FileNotFoundError(f'{src!r} is not a sharded checkpoint directory (no .metadata '
                                f'inside); pass a directory saved by FSDPStrategy.')
    checkpoint = read_sharded_full(src)
    if not with_optimizer:
        checkpoint.pop('optimizer', None)
    save_checkpoint(checkpoint, dst)

