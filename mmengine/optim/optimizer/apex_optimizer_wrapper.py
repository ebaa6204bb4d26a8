"""ApexOptimWrapper: mixed precision with NVIDIA apex.amp (an optional dependency)."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
import torch.nn as nn

from mmengine.registry import OPTIM_WRAPPERS

from .optimizer_wrapper import OptimWrapper

try:  # apex is optional; the wrapper explains how to get it when it is missing
    import apex.amp as apex_amp
except ImportError:
    apex_amp = None


@OPTIM_WRAPPERS.register_module()
class ApexOptimWrapper(OptimWrapper):
    """An :class:`OptimWrapper` for mixed precision training with NVIDIA apex.amp.

    The model and optimizer are handed to ``apex.amp.initialize`` on the first
    ``optim_context`` call; ``backward`` scales the loss with ``apex.amp.scale_loss``. Prefer
    :class:`AmpOptimWrapper` (PyTorch native AMP) unless you rely on apex's opt levels.

    Args:
        opt_level: apex opt level, ``'O0'`` to ``'O3'``. Defaults to ``'O1'``.
        loss_scale: ``'dynamic'`` or a fixed float. Defaults to ``'dynamic'``.
        enabled: Whether apex amp is enabled. Defaults to True.
        cast_model_type: See ``apex.amp.initialize``. Defaults to None.
        patch_torch_functions: See ``apex.amp.initialize``. Defaults to None.
        keep_batchnorm_fp32: See ``apex.amp.initialize``. Defaults to None.
        master_weights: See ``apex.amp.initialize``. Defaults to None.
        cast_model_outputs: See ``apex.amp.initialize``. Defaults to None.
        num_losses: See ``apex.amp.initialize``. Defaults to 1.
        verbosity: See ``apex.amp.initialize``. Defaults to 1.
        min_loss_scale: See ``apex.amp.initialize``. Defaults to None.
        max_loss_scale: See ``apex.amp.initialize``. Defaults to ``2.**24``.
        **kwargs: Arguments of :class:`OptimWrapper`.

    Raises:
        ImportError: If apex is not installed.
    """

    def __init__(self, opt_level: str = 'O1', loss_scale: float | str | None = 'dynamic',
                 enabled: bool | None = True, cast_model_type: torch.dtype | None = None,
                 patch_torch_functions: bool | None = None,
                 keep_batchnorm_fp32: bool | str | None = None,
                 master_weights: bool | None = None, cast_model_outputs: torch.dtype | None = None,
                 num_losses: int = 1, verbosity: int = 1, min_loss_scale: float | None = None,
                 max_loss_scale: float | None = 2.**24, **kwargs: Any) -> None:
        if apex_amp is None:
            raise ImportError('ApexOptimWrapper needs NVIDIA apex, which is not installed. '
                              'Install it from https://github.com/NVIDIA/apex, or use '
                              "type='AmpOptimWrapper' (PyTorch native mixed precision).")
        super().__init__(**kwargs)
        self.opt_level = opt_level
        self._apex_kwargs = dict(
            loss_scale=loss_scale, enabled=enabled, cast_model_type=cast_model_type,
            patch_torch_functions=patch_torch_functions,
            keep_batchnorm_fp32=keep_batchnorm_fp32, master_weights=master_weights,
            cast_model_outputs=cast_model_outputs, num_losses=num_losses, verbosity=verbosity,
            min_loss_scale=min_loss_scale, max_loss_scale=max_loss_scale)
        self._initialized = False
        self._pending_state: dict | None = None

    def _backward_scaled(self, loss: torch.Tensor, **kwargs: Any) -> None:
        with apex_amp.scale_loss(loss, self.optimizer) as scaled_loss:
            scaled_loss.backward(**kwargs)

    def state_dict(self) -> dict:
        """The optimizer state plus apex's amp state under ``'apex_amp'``."""
        state = self.optimizer.state_dict()
        if self._initialized:
            state['apex_amp'] = apex_amp.state_dict()
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        """Load the optimizer state; apex's state is restored once amp is initialized."""
        state = dict(state_dict)
        amp_state = state.pop('apex_amp', None)
        self.optimizer.load_state_dict(state)
        if amp_state is not None and self._initialized:
            apex_amp.load_state_dict(amp_state)
        else:
            self._pending_state = amp_state

    @contextmanager
    def optim_context(self, model: nn.Module) -> Iterator[None]:
        """Initialize apex amp for ``model`` on first use, then run the forward pass."""
        with super().optim_context(model):
            if not self._initialized:
                module = getattr(model, 'module', model)
                apex_amp.initialize(module, self.optimizer, opt_level=self.opt_level,
                                    **self._apex_kwargs)
                self._initialized = True
                if self._pending_state is not None:
                    apex_amp.load_state_dict(self._pending_state)
                    self._pending_state = None
            yield
