"""The step logic shared by ``BaseModel`` and the distributed wrappers."""
from __future__ import annotations

from typing import Any

import torch.nn as nn

from .utils import detect_anomalous_params

_EXPECTED = {
    'loss': 'a dict mapping loss names to tensors (or lists of tensors)',
    'predict': 'the predictions (e.g. a list of data samples or a tuple)',
}


def run_forward(model: nn.Module, data: Any, mode: str) -> Any:
    """Call ``model(**data, mode=mode)`` for a dict, ``model(*data, mode=mode)`` for a
    list/tuple, and check the output fits ``mode``.

    Raises:
        TypeError: If ``data`` is neither, or the output does not fit the mode.
    """
    if isinstance(data, dict):
        results = model(**data, mode=mode)
    elif isinstance(data, (list, tuple)):
        results = model(*data, mode=mode)
    else:
        raise TypeError(f'The preprocessed batch must be a dict (passed as **data) or a '
                        f'list/tuple (passed as *data) to forward, but got '
                        f'{type(data).__name__}.')
    if (mode == 'loss' and not isinstance(results, dict)) or (
            mode == 'predict' and results is None):
        raise TypeError(f"forward(mode={mode!r}) must return {_EXPECTED[mode]}, but "
                        f"{type(model).__name__}.forward returned {type(results).__name__}. "
                        f"Check that forward handles mode={mode!r}.")
    return results


def train_step_through(model: nn.Module, forward_model: nn.Module, data: Any,
                       optim_wrapper: Any, check_graph: bool = False) -> dict[str, Any]:
    """The training step shared by ``BaseModel`` and the distributed wrappers.

    ``model`` supplies ``data_preprocessor`` and ``parse_losses``; ``forward_model`` (the
    model itself, or a DDP/FSDP wrapper around it) runs the forward pass. Preprocessing and
    the forward pass run inside ``optim_wrapper.optim_context(forward_model)`` (autocast;
    ``no_sync`` on accumulation steps, which only needs the forward pass inside it); the
    backward pass and the step run after it, outside autocast as torch recommends.
    """
    with optim_wrapper.optim_context(forward_model):
        data = model.data_preprocessor(data, True)
        losses = run_forward(forward_model, data, mode='loss')
    parsed_losses, log_vars = model.parse_losses(losses)
    if check_graph:
        detect_anomalous_params(parsed_losses, forward_model)
    optim_wrapper.update_params(parsed_losses)
    return log_vars
