"""DefaultOptimWrapperConstructor: per-parameter hyper-parameters from ``paramwise_cfg``."""
from __future__ import annotations

import inspect
import math
import warnings
from typing import Any

import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.instancenorm import _InstanceNorm
from torch.optim import Optimizer

from mmengine.logging import print_log
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS, OPTIM_WRAPPERS, OPTIMIZERS

from .optimizer_wrapper import OptimWrapper

_NORM_TYPES = (_BatchNorm, _InstanceNorm, nn.GroupNorm, nn.LayerNorm, nn.RMSNorm)
# Deformable convolutions come from optional packages (mmcv); recognise them by class name.
_DCN_NAMES = frozenset({'DeformConv2d', 'ModulatedDeformConv2d'})
_DECAY_KEYS = ('decay_mult', 'bias_decay_mult', 'norm_decay_mult', 'dwconv_decay_mult',
               'flat_decay_mult')
_LR_KEYS = ('lr_mult', 'bias_lr_mult', 'dcn_offset_lr_mult')


def _is_dcn(module: nn.Module) -> bool:
    return any(cls.__name__ in _DCN_NAMES for cls in type(module).__mro__)


def _unwrap(model: nn.Module) -> nn.Module:
    """The module inside a model wrapper (DistributedDataParallel, ...), else ``model``."""
    inner = getattr(model, 'module', None)
    if isinstance(inner, nn.Module):
        from mmengine.model import is_model_wrapper
        if is_model_wrapper(model):
            return inner
    return model


def _scaled(base: float | None, factors: list[Any]) -> float | None:
    """``base`` times the given (non-None) factors; None when no factor applies."""
    factors = [factor for factor in factors if factor is not None]
    if base is None or not factors:
        return None
    return math.prod(factors, start=base)


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class DefaultOptimWrapperConstructor:
    """Build an optimizer wrapper, with per-parameter settings from ``paramwise_cfg``.

    Without ``paramwise_cfg`` every parameter goes into one group with the optimizer's
    settings. With it, each parameter gets its own group, whose ``lr`` and ``weight_decay``
    are the optimizer's ``lr`` and ``weight_decay`` times the multipliers that apply to it:

    - ``custom_keys``: ``{substring: dict(lr_mult=..., decay_mult=...)}``; a parameter whose
      full name (``'backbone.layer0.weight'``) contains a key gets that key's multipliers (and
      its other entries copied into the group); the longest matching key wins (ties by
      alphabetical order) and the type-based options below are then not applied.
    - ``lr_mult`` / ``decay_mult``: for every parameter.
    - ``bias_lr_mult`` / ``bias_decay_mult``: biases, except those of normalization layers
      (and of deformable convolution offsets).
    - ``norm_decay_mult``: weights and biases of normalization layers.
    - ``dwconv_decay_mult``: depth-wise convolutions.
    - ``flat_decay_mult``: other one-dimensional parameters.
    - ``dcn_offset_lr_mult``: the offset convolution (``conv_offset``) of deformable
      convolutions.
    - ``bypass_duplicate``: skip (with a warning) parameters met twice (shared modules)
      instead of letting the optimizer reject them.

    Frozen parameters (``requires_grad=False``) get a group of their own with no options.
    Every option set is logged as ``paramwise_options -- <name>:<key>=<value>``.

    Subclasses may override :meth:`add_params`, which receives an empty list and the model
    and appends parameter groups to the list.

    Args:
        optim_wrapper_cfg: The optim_wrapper config: ``optimizer`` (an optimizer config, or a
            built optimizer when there is no ``paramwise_cfg``), optional ``type`` (default
            ``'OptimWrapper'``) and the wrapper's arguments. Not modified.
        paramwise_cfg: The options above. Defaults to None (none).

    Examples:
        >>> import torch.nn as nn
        >>> from mmengine.logging import MMLogger
        >>> quiet = MMLogger.get_instance('doc-quiet', log_level='WARNING')  # no option lines
        >>> model = nn.Sequential(nn.Linear(1, 1), nn.BatchNorm1d(1))
        >>> constructor = DefaultOptimWrapperConstructor(
        ...     dict(optimizer=dict(type='SGD', lr=0.01, weight_decay=1e-4)),
        ...     paramwise_cfg=dict(norm_decay_mult=0))
        >>> [g['weight_decay'] for g in constructor(model).param_groups]
        [0.0001, 0.0001, 0.0, 0.0]
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: dict | None = None) -> None:
        if not isinstance(optim_wrapper_cfg, dict):
            raise TypeError(f'optim_wrapper_cfg must be a dict, but got '
                            f'{type(optim_wrapper_cfg).__name__}: {optim_wrapper_cfg!r}.')
        if 'optimizer' not in optim_wrapper_cfg:
            raise ValueError(f"optim_wrapper_cfg must have an 'optimizer' key (e.g. "
                             f"optimizer=dict(type='SGD', lr=0.01)), but got "
                             f'{optim_wrapper_cfg!r}.')
        self.optim_wrapper_cfg = dict(optim_wrapper_cfg)
        self.optimizer_cfg = self.optim_wrapper_cfg.pop('optimizer')
        self.paramwise_cfg = {} if paramwise_cfg is None else paramwise_cfg
        settings = self.optimizer_cfg if isinstance(self.optimizer_cfg, dict) else {}
        self.base_lr = settings.get('lr', None)
        self.base_wd = settings.get('weight_decay', None)
        self._validate_cfg()

    def _validate_cfg(self) -> None:
        if not isinstance(self.paramwise_cfg, dict):
            raise TypeError(f'paramwise_cfg must be a dict or None, but got '
                            f'{type(self.paramwise_cfg).__name__}: {self.paramwise_cfg!r}.')
        if not isinstance(self.optimizer_cfg, dict | Optimizer):
            raise TypeError(f"optim_wrapper_cfg['optimizer'] must be a config dict or an "
                            f'optimizer, but got {type(self.optimizer_cfg).__name__}.')
        if self.paramwise_cfg and isinstance(self.optimizer_cfg, Optimizer):
            raise ValueError('paramwise_cfg needs an optimizer config to build parameter '
                             'groups from, but optim_wrapper_cfg holds a built optimizer.')
        custom_keys = self.paramwise_cfg.get('custom_keys', {})
        if not isinstance(custom_keys, dict) or not all(
                isinstance(value, dict) for value in custom_keys.values()):
            raise TypeError(f"paramwise_cfg['custom_keys'] must be a dict of dicts such as "
                            f"{{'backbone': dict(lr_mult=0.1)}}, but got {custom_keys!r}.")
        settings = [self.paramwise_cfg, *custom_keys.values()]
        for keys, base, what in ((_DECAY_KEYS, self.base_wd, 'weight_decay'),
                                 (_LR_KEYS, self.base_lr, 'lr')):
            used = sorted({key for cfg in settings for key in keys if cfg.get(key) is not None})
            if used and base is None:
                raise ValueError(f'paramwise_cfg sets {used}, which multiply the optimizer\'s '
                                 f'{what}, but the optimizer config has no {what!r}. Add it to '
                                 f"optim_wrapper['optimizer'].")

    def __call__(self, model: nn.Module) -> OptimWrapper:
        """Build the optimizer for ``model``'s parameters and wrap it.

        Args:
            model: The model (or a model wrapper, whose inner module is used).

        Returns:
            The optimizer wrapper named by the config's ``type`` (default ``OptimWrapper``).
        """
        model = _unwrap(model)
        wrapper_cfg = dict(self.optim_wrapper_cfg)
        wrapper_cfg.setdefault('type', 'OptimWrapper')
        optimizer = self.optimizer_cfg
        if isinstance(optimizer, dict):
            optimizer_cfg = dict(optimizer)
            if self.paramwise_cfg:
                params: Any = []
                self.add_params(params, model)
            else:
                params = model.parameters()
            optimizer_cfg[self._params_arg_name(optimizer_cfg.get('type'))] = params
            optimizer = OPTIMIZERS.build(optimizer_cfg)
        return OPTIM_WRAPPERS.build(wrapper_cfg, default_args=dict(optimizer=optimizer))

    @staticmethod
    def _params_arg_name(optimizer_type: Any) -> str:
        """The name of the optimizer's first argument (``params`` for torch optimizers; some
        third-party optimizers call it differently)."""
        optimizer_cls = optimizer_type
        if isinstance(optimizer_type, str):
            with OPTIMIZERS.switch_scope_and_registry(None) as registry:
                optimizer_cls = registry.get(optimizer_type)
        if optimizer_cls is None or not callable(optimizer_cls):
            return 'params'  # building reports the unknown type
        return next(iter(inspect.signature(optimizer_cls).parameters), 'params')

    def add_params(self, params: list[dict], module: nn.Module, prefix: str = '',
                   is_dcn_module: bool | None = None) -> None:
        """Append a parameter group for each parameter of ``module`` and its children.

        Args:
            params: The list of parameter groups being built (appended to in place).
            module: The module whose parameters are added.
            prefix: The module's name in the model (``''`` for the model itself).
            is_dcn_module: Whether ``module``'s parent is a deformable convolution.
        """
        bypass_duplicate = self.paramwise_cfg.get('bypass_duplicate', False)
        for name, param in module.named_parameters(recurse=False):
            full_name = f'{prefix}.{name}' if prefix else name
            param_group: dict[str, Any] = {'params': [param]}
            if bypass_duplicate and self._is_in(param_group, params):
                warnings.warn(f'{full_name} is a parameter already added under another name '
                              f'(a shared module); it is skipped since bypass_duplicate=True.',
                              stacklevel=2)
                continue
            if param.requires_grad:
                param_group.update(self._param_options(name, param, module, prefix,
                                                       bool(is_dcn_module)))
                self._log_options(full_name, param_group)
            params.append(param_group)
        child_is_dcn = _is_dcn(module)
        for child_name, child in module.named_children():
            child_prefix = f'{prefix}.{child_name}' if prefix else child_name
            self.add_params(params, child, prefix=child_prefix, is_dcn_module=child_is_dcn)

    @staticmethod
    def _is_in(param_group: dict, param_groups: list[dict]) -> bool:
        """Whether a parameter of ``param_group`` is already in ``param_groups``."""
        seen = {id(param) for group in param_groups for param in group['params']}
        return any(id(param) in seen for param in param_group['params'])

    @staticmethod
    def _log_options(full_name: str, param_group: dict) -> None:
        for key, value in param_group.items():
            if key != 'params':
                print_log(f'paramwise_options -- {full_name}:{key}={value}', logger='current')

    def _param_options(self, name: str, param: nn.Parameter, module: nn.Module, prefix: str,
                       is_dcn_module: bool) -> dict[str, Any]:
        """The settings of one parameter's group, in the order they are logged."""
        custom_keys = self.paramwise_cfg.get('custom_keys', {})
        # Most specific (longest) key first; alphabetical order breaks ties deterministically.
        for key in sorted(sorted(custom_keys), key=len, reverse=True):
            if key in f'{prefix}.{name}':
                return self._custom_options(custom_keys[key])
        cfg = self.paramwise_cfg
        is_norm = isinstance(module, _NORM_TYPES)
        is_bias = name == 'bias' and not (is_norm or is_dcn_module)
        lr_factors = [cfg.get('lr_mult')]
        if is_bias:
            lr_factors.append(cfg.get('bias_lr_mult'))
        if is_dcn_module and 'conv_offset' in prefix and isinstance(module, nn.Conv2d):
            lr_factors.append(cfg.get('dcn_offset_lr_mult'))
        is_dwconv = isinstance(module, nn.Conv2d) and module.in_channels == module.groups
        # The first kind that applies and has a multiplier set decides the decay multiplier.
        kinds = ((is_norm, 'norm_decay_mult'), (is_bias, 'bias_decay_mult'),
                 (is_dwconv, 'dwconv_decay_mult'),
                 (param.ndim == 1 and not is_dcn_module, 'flat_decay_mult'))
        decay = next((cfg[key] for applies, key in kinds
                      if applies and cfg.get(key) is not None), None)
        options = {'lr': _scaled(self.base_lr, lr_factors),
                   'weight_decay': _scaled(self.base_wd, [cfg.get('decay_mult'), decay])}
        return {key: value for key, value in options.items() if value is not None}

    def _custom_options(self, key_cfg: dict) -> dict[str, Any]:
        options: dict[str, Any] = {}
        if self.base_lr is not None:
            options['lr'] = self.base_lr * key_cfg.get('lr_mult', 1.)
        if self.base_wd is not None:
            options['weight_decay'] = self.base_wd * key_cfg.get('decay_mult', 1.)
        options.update(key_cfg)
        return options
