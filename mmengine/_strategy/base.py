"""``BaseStrategy``: where a model runs and how its training state is checkpointed.

A strategy answers three questions for the Runner: how to place and wrap the model
(:meth:`~BaseStrategy.wrap_model`), what the model's and optimizer's state look like in a
checkpoint (:meth:`~BaseStrategy.model_state_dict`, :meth:`~BaseStrategy.optim_state_dict`)
and how checkpoints are written and read (:meth:`~BaseStrategy.save_checkpoint`,
:meth:`~BaseStrategy.load_checkpoint`). Everything else (building components, loops, hooks,
the distributed environment) stays with the Runner, so a strategy never re-implements a
builder. The Runner uses ``SingleDeviceStrategy`` or ``DDPStrategy`` by itself;
``FlexibleRunner`` lets the config choose any registered strategy.

The checkpoint helpers live in ``mmengine.runner.checkpoint`` (a higher layer), so they are
imported inside the methods that use them.
"""
from __future__ import annotations

import re
from typing import Any

import torch.nn as nn

from ..logging import print_log
from ..model import is_model_wrapper
from ..optim import build_optim_wrapper
from ._sharded import is_sharded_checkpoint, read_sharded_full

DEFAULT_REVISE_KEYS = [(r'^module.', '')]


def revise_keys_of(state_dict: dict, revise_keys: list) -> dict:
    """``state_dict`` with every ``(pattern, replacement)`` of ``revise_keys`` applied."""
    revised = {}
    for key, value in state_dict.items():
        for pattern, replacement in revise_keys:
            key = re.sub(pattern, replacement, key)
        revised[key] = value
    return revised


class BaseStrategy:
    """Model placement and checkpoint input/output for the Runner.

    Subclasses override :meth:`wrap_model` and, when their state is not a plain
    ``state_dict`` held by one process, the state and checkpoint methods.
    """

    def wrap_model(self, model: nn.Module, model_wrapper_cfg: dict | None = None) -> nn.Module:
        """Place ``model`` on its device and wrap it for this strategy.

        Args:
            model: The built, unwrapped model.
            model_wrapper_cfg: The Runner's ``model_wrapper_cfg`` (None when unset).

        Returns:
            The model the loops call.
        """
        raise NotImplementedError(f'{type(self).__name__} must implement wrap_model().')

    def prepare(self, model: nn.Module, optim_wrapper: Any = None) -> tuple[nn.Module, Any]:
        """Wrap ``model`` and then build ``optim_wrapper`` (a config) for the wrapped model.

        The optimizer is built after wrapping because sharding strategies replace the
        parameters; use this when driving a strategy without a Runner.

        Returns:
            ``(model, optim_wrapper)``; the wrapper is None when none was given.
        """
        model = self.wrap_model(model)
        if isinstance(optim_wrapper, dict):
            target = model.module if is_model_wrapper(model) else model
            optim_wrapper = build_optim_wrapper(target, dict(optim_wrapper))
        return model, optim_wrapper

    @staticmethod
    def check_unwrapped(model: nn.Module, model_wrapper_cfg: dict | None) -> bool:
        """Whether ``model`` is already wrapped (then it is used as is).

        Raises:
            TypeError: If it is wrapped and a ``model_wrapper_cfg`` asks to wrap it again.
        """
        if not is_model_wrapper(model):
            return False
        if model_wrapper_cfg is not None:
            raise TypeError('model_wrapper_cfg is given but the model is already wrapped by '
                            f'{type(model).__name__}; pass the bare model instead.')
        return True

    # ------------------------------------------------------------------ state
    def model_state_dict(self, model: nn.Module) -> dict:
        """The model's weights for a checkpoint: unwrapped keys, CPU tensors."""
        from ..runner.checkpoint import get_state_dict, weights_to_cpu
        return weights_to_cpu(get_state_dict(model))

    def optim_state_dict(self, model: nn.Module, optim_wrapper: Any) -> dict:
        """The optimizer wrapper's state for a checkpoint."""
        del model  # the wrapper alone knows its state here; sharded strategies need the model
        return optim_wrapper.state_dict()

    def load_model_state_dict(self, model: nn.Module, state_dict: Any, strict: bool = False,
                              revise_keys: list | None = None, logger: Any = None) -> None:
        """Load weights read by :meth:`load_checkpoint` into ``model``.

        Args:
            model: The (possibly wrapped) model.
            state_dict: The checkpoint's ``state_dict``.
            strict: Whether keys must match exactly.
            revise_keys: ``(pattern, replacement)`` pairs applied to every key first.
            logger: Logger for missing/unexpected key reports.
        """
        from ..runner.checkpoint import load_state_dict
        state_dict = revise_keys_of(state_dict, DEFAULT_REVISE_KEYS if revise_keys is None
                                    else revise_keys)
        load_state_dict(model, state_dict, strict=strict, logger=logger)

    def load_optim_state_dict(self, model: nn.Module, optim_wrapper: Any, state: Any) -> None:
        """Load the checkpoint's ``optimizer`` entry into ``optim_wrapper``."""
        del model
        optim_wrapper.load_state_dict(state)

    # ------------------------------------------------------------------ files
    def save_checkpoint(self, checkpoint: dict, filepath: str,
                        file_client_args: dict | None = None,
                        backend_args: dict | None = None) -> None:
        """Write ``checkpoint`` as one file; only the main process writes."""
        from ..dist import is_main_process
        from ..runner.checkpoint import save_checkpoint
        if is_main_process():
            save_checkpoint(checkpoint, filepath, file_client_args=file_client_args,
                            backend_args=backend_args)

    def load_checkpoint(self, filename: str, map_location: Any = 'cpu') -> dict:
        """Read a checkpoint file (every process reads it).

        A sharded checkpoint directory written by ``FSDPStrategy`` is consolidated in memory;
        its optimizer state is left out because it is keyed for sharded parameters.
        """
        if is_sharded_checkpoint(filename):
            checkpoint = read_sharded_full(filename)
            if checkpoint.pop('optimizer', None) is not None:
                print_log(f'{filename} is a sharded checkpoint: its weights are loaded, its '
                          f'optimizer state is not (resume it with FSDPStrategy).',
                          logger='current')
            return checkpoint
        from ..runner.checkpoint import _load_checkpoint
        checkpoint = _load_checkpoint(filename, map_location=map_location)
        if not isinstance(checkpoint, dict):
            raise RuntimeError(f'{filename} does not hold a checkpoint dict, but a '
                               f'{type(checkpoint).__name__}.')
        return checkpoint

    def __repr__(self) -> str:
        return f'{type(self).__name__}()'


__all__ = ['BaseStrategy']
