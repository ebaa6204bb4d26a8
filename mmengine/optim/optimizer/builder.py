"""Register the optimizers of torch (and optional packages) and build optimizer wrappers."""
from __future__ import annotations

import importlib
import importlib.util
import inspect
from typing import Any

import torch
import torch.nn as nn
from torch.optim import Optimizer

from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS, OPTIMIZERS

from .optimizer_wrapper import OptimWrapper
from .optimizer_wrapper_dict import OptimWrapperDict

# Keys that mark a config as one optimizer wrapper (rather than a dict of them).
_SINGLE_WRAPPER_KEYS = ('optimizer', 'type', 'constructor')


def _register_optimizers_of(module: Any, names: list[str] | None = None,
                            prefix: str = '') -> list[str]:
    """Register the optimizer classes of ``module`` (all, or those in ``names``) as
    ``prefix + class name``, skipping names already taken; return the names registered."""
    registered = []
    for name in names if names is not None else dir(module):
        obj = getattr(module, name, None)
        if not (inspect.isclass(obj) and issubclass(obj, Optimizer)) or obj is Optimizer:
            continue
        key = prefix + name
        if key not in OPTIMIZERS.module_dict:
            OPTIMIZERS.register_module(name=key, module=obj)
        registered.append(key)
    return registered


def _register_optional(package: str, module: str, names: list[str] | None = None,
                       prefix: str = '') -> list[str]:
    """Register optimizers of an optional package; nothing (and no import) when it is absent."""
    if importlib.util.find_spec(package) is None:
        return []
    try:
        imported = importlib.import_module(module)
    except ImportError:  # installed but broken (e.g. missing native libraries)
        return []
    return _register_optimizers_of(imported, names, prefix)


def register_torch_optimizers() -> list[str]:
    """Register every ``torch.optim`` optimizer in ``OPTIMIZERS``; return their names."""
    return _register_optimizers_of(torch.optim)


def register_torch_npu_optimizers() -> list[str]:
    """Register the optimizers of ``torch_npu`` (Ascend) when it is installed."""
    return _register_optional('torch_npu', 'torch_npu.optim')


def register_dadaptation_optimizers() -> list[str]:
    """Register ``DAdaptAdaGrad``, ``DAdaptAdam`` and ``DAdaptSGD`` when installed."""
    return _register_optional('dadaptation', 'dadaptation',
                              ['DAdaptAdaGrad', 'DAdaptAdam', 'DAdaptSGD'])


def register_lion_optimizers() -> list[str]:
    """Register ``Lion`` from ``lion_pytorch`` when installed."""
    return _register_optional('lion_pytorch', 'lion_pytorch', ['Lion'])


def register_sophia_optimizers() -> list[str]:
    """Register the optimizers of ``Sophia`` when installed."""
    return _register_optional('Sophia', 'Sophia')


def register_bitsandbytes_optimizers() -> list[str]:
    """Register the 8-bit and paged optimizers of ``bitsandbytes`` when installed."""
    names = ['AdamW8bit', 'Adam8bit', 'Adagrad8bit', 'PagedAdam8bit', 'PagedAdamW8bit',
             'LAMB8bit', 'LARS8bit', 'RMSprop8bit', 'Lion8bit', 'PagedLion8bit', 'SGD8bit']
    return _register_optional('bitsandbytes', 'bitsandbytes.optim', names)


def register_transformers_optimizers() -> list[str]:
    """Register ``Adafactor`` of ``transformers`` (as ``TransformersAdafactor``, since torch
    has its own ``Adafactor``) when installed."""
    return _register_optional('transformers', 'transformers.optimization', ['Adafactor'],
                              prefix='Transformers')


def _zero_redundancy_optimizer(params: Any, optimizer_type: Any, **kwargs: Any) -> Optimizer:
    """Build :class:`ZeroRedundancyOptimizer`, importing it (and torch.distributed.optim,
    which takes seconds to import) only when a config asks for it."""
    from .zero_optimizer import ZeroRedundancyOptimizer
    return ZeroRedundancyOptimizer(params, optimizer_type, **kwargs)


TORCH_OPTIMIZERS = register_torch_optimizers()
if 'ZeroRedundancyOptimizer' not in OPTIMIZERS.module_dict:
    # Replaced by the class itself once zero_optimizer is imported.
    OPTIMIZERS.register_module(name='ZeroRedundancyOptimizer', module=_zero_redundancy_optimizer)
NPU_OPTIMIZERS = register_torch_npu_optimizers()
DADAPTATION_OPTIMIZERS = register_dadaptation_optimizers()
LION_OPTIMIZERS = register_lion_optimizers()
SOPHIA_OPTIMIZERS = register_sophia_optimizers()
BITSANDBYTES_OPTIMIZERS = register_bitsandbytes_optimizers()
TRANSFORMER_OPTIMIZERS = register_transformers_optimizers()


def _copy_cfg(cfg: Any) -> Any:
    """Copy the nested dicts and lists of a config (objects inside are shared, not copied)."""
    if isinstance(cfg, dict):
        return {key: _copy_cfg(value) for key, value in cfg.items()}
    if isinstance(cfg, list | tuple):
        return type(cfg)(_copy_cfg(value) for value in cfg)
    return cfg


def _submodule(model: nn.Module, name: str) -> nn.Module:
    """The child ``name`` of ``model`` (or of the module it wraps)."""
    for candidate in (model, getattr(model, 'module', None)):
        child = getattr(candidate, name, None)
        if isinstance(child, nn.Module):
            return child
    children = [child_name for child_name, _ in model.named_children()]
    raise ValueError(f'The optim_wrapper config has a key {name!r}, which should name a '
                     f'submodule of the model to optimize, but the model has no such submodule '
                     f'(children: {children}). Use the names of submodules, or give the config '
                     f"an 'optimizer' (or 'constructor') key for a single optimizer wrapper.")


def _build_wrapper_dict(model: nn.Module, cfg: dict) -> OptimWrapperDict:
    wrappers = {}
    for name, sub_cfg in cfg.items():
        if isinstance(sub_cfg, OptimWrapper):
            wrappers[name] = sub_cfg
        elif isinstance(sub_cfg, dict):
            wrappers[name] = build_optim_wrapper(_submodule(model, name), sub_cfg)
        else:
            raise TypeError(f'Each value of a multi-optimizer optim_wrapper config must be an '
                            f'optim_wrapper config dict or an OptimWrapper, but {name!r} is a '
                            f'{type(sub_cfg).__name__}: {sub_cfg!r}.')
    return OptimWrapperDict(**wrappers)


def build_optim_wrapper(model: nn.Module, cfg: dict) -> OptimWrapper:
    """Build an optimizer wrapper for ``model`` from a config.

    Args:
        model: The model whose parameters are optimized.
        cfg: ``optimizer`` (the optimizer config, e.g. ``dict(type='SGD', lr=0.01)``, or a
            built optimizer), optional ``type`` (the wrapper, default ``'OptimWrapper'``),
            ``constructor`` (default ``'DefaultOptimWrapperConstructor'``), ``paramwise_cfg``
            and the wrapper's own arguments (``accumulative_counts``, ``clip_grad``, ...).
            A dict with none of the keys ``optimizer``, ``type`` and ``constructor`` is a dict
            of such configs keyed by submodule name (e.g. ``generator`` and
            ``discriminator``), and builds an :class:`OptimWrapperDict`. ``cfg`` is not
            modified.

    Returns:
        The optimizer wrapper (an :class:`OptimWrapperDict` for a dict of configs).

    Examples:
        >>> import torch.nn as nn
        >>> wrapper = build_optim_wrapper(nn.Linear(1, 1), dict(optimizer=dict(type='SGD',
        ...                                                                     lr=0.01)))
        >>> type(wrapper).__name__, wrapper.get_lr()
        ('OptimWrapper', {'lr': [0.01]})
    """
    if not isinstance(cfg, dict):
        raise TypeError(f'The optim_wrapper config must be a dict, but got '
                        f'{type(cfg).__name__}: {cfg!r}.')
    cfg = _copy_cfg(cfg)
    if cfg and not any(key in cfg for key in _SINGLE_WRAPPER_KEYS):
        return _build_wrapper_dict(model, cfg)
    constructor_type = cfg.pop('constructor', 'DefaultOptimWrapperConstructor')
    paramwise_cfg = cfg.pop('paramwise_cfg', None)
    constructor = OPTIM_WRAPPER_CONSTRUCTORS.build(
        dict(type=constructor_type, optim_wrapper_cfg=cfg, paramwise_cfg=paramwise_cfg))
    return constructor(model)
