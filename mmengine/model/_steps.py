"""The step logic shared by ``BaseModel`` and the distributed wrappers."""
from __future__ import annotations

from typing import Any

import torch.nn as nn

from .utils import detect_anomalous_params

# Model classes whose ``data_preprocessor`` is an ordinary submodule (no class attribute or
# property of that name): see ``preprocessor_of``.
_PLAIN_ATTRIBUTE: dict[type, bool] = {}


def preprocessor_of(model: nn.Module) -> Any:
    """``model.data_preprocessor``, taken from the model's submodules when that is the same.

    ``nn.Module`` finds a submodule attribute in ``__getattr__``, after the ordinary lookup
    has failed; on Python 3.11 that failure builds and discards an AttributeError each time,
    which costs more than a whole CPU preprocessing step. A class that defines the name
    itself (a property, say) is read the ordinary way.
    """
    kind = type(model)
    plain = _PLAIN_ATTRIBUTE.get(kind)
    if plain is None:
        plain = _PLAIN_ATTRIBUTE[kind] = not any('data_preprocessor' in vars(base)
                                                 for base in kind.__mro__)
    if plain:
        preprocessor = model._modules.get('data_preprocessor')
        if preprocessor is not None:
            return preprocessor
    return model.data_preprocessor


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
        data = preprocessor_of(model)(data, True)
        losses = run_forward(forward_model, data, mode='loss')
    parsed_losses, log_vars = model.parse_losses(losses)
    if check_graph:
        detect_anomalous_params(parsed_losses, forward_model)
    optim_wrapper.update_params(parsed_losses)
    return log_vars
