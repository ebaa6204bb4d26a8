"""AmpOptimWrapper: automatic mixed precision with torch.autocast and torch.amp.GradScaler."""
from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
import torch.nn as nn

from mmengine.registry import OPTIM_WRAPPERS

from .optimizer_wrapper import OptimWrapper

_AUTOCAST_DTYPES = (torch.float16, torch.bfloat16)


def _default_device_type() -> str:
    """The device type of the current accelerator (cuda, mps, xpu, ...), else ``'cpu'``."""
    accelerator = torch.accelerator.current_accelerator()
    return accelerator.type if accelerator is not None else 'cpu'


def _model_device_type(model: nn.Module) -> str:
    """The device type of the model's first parameter or buffer (``'cpu'`` when it has none)."""
    for tensor in model.parameters():
        return tensor.device.type
    for tensor in model.buffers():
        return tensor.device.type
    return 'cpu'


@OPTIM_WRAPPERS.register_module()
class AmpOptimWrapper(OptimWrapper):
    """An :class:`OptimWrapper` for automatic mixed precision training.

    ``optim_context(model)`` runs the forward pass under ``torch.autocast`` for the device type
    of the model's parameters (CUDA, CPU, MPS, ... whatever torch supports). In float16 the
    loss is multiplied by a ``torch.amp.GradScaler`` scale before backward; the gradients are
    unscaled before clipping, and a step whose gradients overflow is skipped. bfloat16 (and
    float32/float64, where autocast is off) needs no scaler, so none is created.

    Args:
        loss_scale: ``'dynamic'`` (a default GradScaler), a float (a fixed scale, never
            grown nor backed off) or a dict of ``torch.amp.GradScaler`` arguments. Defaults to
            ``'dynamic'``.
        dtype: The autocast dtype: ``'float16'``, ``'bfloat16'``, ``'float32'``, ``'float64'``,
            a ``torch.dtype`` or None (the device's autocast default, with a scaler).
            Defaults to None.
        use_fsdp: Use FSDP's ``ShardedGradScaler``, for models sharded by FSDP. Defaults to
            False.
        **kwargs: Arguments of :class:`OptimWrapper` (``optimizer``, ``accumulative_counts``,
            ``clip_grad``).
    """

    valid_dtypes = ('float16', 'bfloat16', 'float32', 'float64')

    def __init__(self, loss_scale: str | float | dict = 'dynamic',
                 dtype: str | torch.dtype | None = None, use_fsdp: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cast_dtype = self._parse_dtype(dtype)
        self._scale_update_param: float | None = None
        self.loss_scaler = None
        if self.cast_dtype is None or self.cast_dtype == torch.float16:
            self.loss_scaler = self._build_scaler(loss_scale, use_fsdp)
        elif loss_scale != 'dynamic':
            warnings.warn(f'loss_scale={loss_scale!r} is ignored: dtype={dtype!r} needs no loss '
                          f'scaling, so no GradScaler is used.', stacklevel=2)

    def _parse_dtype(self, dtype: str | torch.dtype | None) -> torch.dtype | None:
        if dtype is None:
            return None
        if isinstance(dtype, str) and dtype in self.valid_dtypes:
            return getattr(torch, dtype)
        if isinstance(dtype, torch.dtype) and str(dtype)[len('torch.'):] in self.valid_dtypes:
            return dtype
        raise ValueError(f'dtype must be None or one of {self.valid_dtypes}, but got '
                         f'{dtype!r}.')

    def _build_scaler(self, loss_scale: str | float | dict, use_fsdp: bool) -> Any:
        if use_fsdp:
            from torch.distributed.fsdp.sharded_grad_scaler import ShardedGradScaler
            scaler_cls: Any = ShardedGradScaler
        else:
            scaler_cls = torch.amp.GradScaler
        device = _default_device_type()
        if loss_scale == 'dynamic':
            return scaler_cls(device)
        if isinstance(loss_scale, dict):
            return scaler_cls(**{'device': device, **loss_scale})
        if isinstance(loss_scale, (int, float)) and not isinstance(loss_scale, bool):
            # update(new_scale) after every step pins the scale: no growth, no back-off.
            self._scale_update_param = float(loss_scale)
            return scaler_cls(device, init_scale=float(loss_scale))
        raise TypeError(f"loss_scale must be 'dynamic', a float or a dict of GradScaler "
                        f'arguments, but got {type(loss_scale).__name__}: {loss_scale!r}.')

    def _backward_scaled(self, loss: torch.Tensor, **kwargs: Any) -> None:
        if self.loss_scaler is not None:
            loss = self.loss_scaler.scale(loss)
        loss.backward(**kwargs)

    def step(self, **kwargs: Any) -> None:
        """Unscale and clip the gradients if configured, then step unless they overflowed."""
        if self.loss_scaler is None:
            super().step(**kwargs)
            return
        if self.clip_grad_kwargs:
            self.loss_scaler.unscale_(self.optimizer)
            self._clip_grad()
        self.loss_scaler.step(self.optimizer, **kwargs)
        self.loss_scaler.update(self._scale_update_param)

    def state_dict(self) -> dict:
        """The optimizer state plus, with a scaler, its state under ``'loss_scaler'``."""
        state = self.optimizer.state_dict()
        if self.loss_scaler is not None:
            state['loss_scaler'] = self.loss_scaler.state_dict()
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        """Load the optimizer state and, when present, the scaler state (``'loss_scaler'``).

        Args:
            state_dict: A state dict from :meth:`state_dict`; it is not modified.
        """
        state = dict(state_dict)
        scaler_state = state.pop('loss_scaler', None)
        if scaler_state is not None and self.loss_scaler is not None:
            self.loss_scaler.load_state_dict(scaler_state)
        self.optimizer.load_state_dict(state)

    @contextmanager
    def optim_context(self, model: nn.Module) -> Iterator[None]:
        """Run the forward pass under ``torch.autocast`` (and skip DDP sync when accumulating).

        Args:
            model: The model; its parameters' device type selects the autocast device.
        """
        enabled = self.cast_dtype is None or self.cast_dtype in _AUTOCAST_DTYPES
        with super().optim_context(model), torch.autocast(
                device_type=_model_device_type(model), dtype=self.cast_dtype, enabled=enabled):
            yield
