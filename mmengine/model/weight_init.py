"""Weight initialization: functions, registered initializers and ``initialize``.

An ``init_cfg`` is a dict (or a list of dicts) naming an initializer registered in
``WEIGHT_INITIALIZERS`` (``Constant``, ``Xavier``, ``Normal``, ``TruncNormal``, ``Uniform``,
``Kaiming``, ``Caffe2Xavier``, ``Pretrained``) with its arguments, plus:

- ``layer``: class names (of a module or one of its direct bases) the initializer applies to;
  without it (and outside ``override``) the initializer touches nothing.
- ``override``: a dict or list of dicts, each with ``name`` (an attribute of the module) and
  the initializer for that whole submodule; a ``name``-only override reuses the outer config.
"""
from __future__ import annotations

import copy
import math
from typing import Any

import torch
import torch.nn as nn

from mmengine.logging import print_log
from mmengine.registry import WEIGHT_INITIALIZERS, build_from_cfg


def update_init_info(module: nn.Module, init_info: str) -> None:
    """Record ``init_info`` for every parameter of ``module`` whose value changed.

    ``BaseModule.init_weights`` attaches a shared ``_params_init_info`` table to every
    submodule; this compares each parameter's mean with the recorded one and, when it
    differs, stores ``init_info`` as the initializer that last set it.

    Args:
        module: A module carrying ``_params_init_info``.
        init_info: A description of the initializer that just ran.

    Raises:
        RuntimeError: If ``module`` has no ``_params_init_info`` table (it is only present
            while ``init_weights`` of a ``BaseModule`` runs).
    """
    table = getattr(module, '_params_init_info', None)
    if table is None:
        raise RuntimeError(f'{type(module).__name__} has no `_params_init_info`; '
                           f'update_init_info can only be used while '
                           f'BaseModule.init_weights runs.')
    for param in module.parameters():
        if param not in table:
            continue
        # Init time only: the host sync of .cpu() is acceptable here.
        mean_value = param.data.mean().cpu()
        if not torch.equal(mean_value, table[param]['tmp_mean_value']):
            table[param]['init_info'] = init_info
            table[param]['tmp_mean_value'] = mean_value


def _has(module: nn.Module, name: str) -> bool:
    return getattr(module, name, None) is not None


def _init_bias(module: nn.Module, bias: float) -> None:
    if _has(module, 'bias'):
        nn.init.constant_(module.bias, bias)


def constant_init(module: nn.Module, val: float, bias: float = 0) -> None:
    """Fill ``module.weight`` with ``val`` and ``module.bias`` with ``bias``."""
    if _has(module, 'weight'):
        nn.init.constant_(module.weight, val)
    _init_bias(module, bias)


def _check_distribution(distribution: str) -> None:
    if distribution not in ('uniform', 'normal'):
        raise ValueError(f"distribution must be 'uniform' or 'normal', but got "
                         f'{distribution!r}.')


def xavier_init(module: nn.Module, gain: float = 1, bias: float = 0,
                distribution: str = 'normal') -> None:
    """Xavier (Glorot) initialization of ``module.weight``; ``bias`` fills the bias."""
    _check_distribution(distribution)
    if _has(module, 'weight'):
        if distribution == 'uniform':
            nn.init.xavier_uniform_(module.weight, gain=gain)
        else:
            nn.init.xavier_normal_(module.weight, gain=gain)
    _init_bias(module, bias)


def normal_init(module: nn.Module, mean: float = 0, std: float = 1, bias: float = 0) -> None:
    """Draw ``module.weight`` from N(mean, std^2); ``bias`` fills the bias."""
    if _has(module, 'weight'):
        nn.init.normal_(module.weight, mean, std)
    _init_bias(module, bias)


def trunc_normal_(tensor: torch.Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0,
                  b: float = 2.0) -> torch.Tensor:
    """Fill ``tensor`` in place from N(mean, std^2) truncated to ``[a, b]``; returns it."""
    with torch.no_grad():
        return nn.init.trunc_normal_(tensor, mean=mean, std=std, a=a, b=b)


def trunc_normal_init(module: nn.Module, mean: float = 0, std: float = 1, a: float = -2,
                      b: float = 2, bias: float = 0) -> None:
    """Draw ``module.weight`` from a normal truncated to ``[a, b]``; ``bias`` fills the bias."""
    if _has(module, 'weight'):
        trunc_normal_(module.weight, mean, std, a, b)
    _init_bias(module, bias)


def uniform_init(module: nn.Module, a: float = 0, b: float = 1, bias: float = 0) -> None:
    """Draw ``module.weight`` from U(a, b); ``bias`` fills the bias."""
    if _has(module, 'weight'):
        nn.init.uniform_(module.weight, a, b)
    _init_bias(module, bias)


def kaiming_init(module: nn.Module, a: float = 0, mode: str = 'fan_out',
                 nonlinearity: str = 'relu', bias: float = 0,
                 distribution: str = 'normal') -> None:
    """Kaiming (He) initialization of ``module.weight``; ``bias`` fills the bias."""
    _check_distribution(distribution)
    if _has(module, 'weight'):
        if distribution == 'uniform':
            nn.init.kaiming_uniform_(module.weight, a=a, mode=mode, nonlinearity=nonlinearity)
        else:
            nn.init.kaiming_normal_(module.weight, a=a, mode=mode, nonlinearity=nonlinearity)
    _init_bias(module, bias)


def caffe2_xavier_init(module: nn.Module, bias: float = 0) -> None:
    """Caffe2's "XavierFill": Kaiming uniform with ``a=1``, ``fan_in``, leaky ReLU."""
    kaiming_init(module, a=1, mode='fan_in', nonlinearity='leaky_relu', bias=bias,
                 distribution='uniform')


def bias_init_with_prob(prior_prob: float) -> float:
    """Return the bias value whose sigmoid equals ``prior_prob`` (focal-loss style init)."""
    if not 0 < prior_prob < 1:
        raise ValueError(f'prior_prob must be in (0, 1), but got {prior_prob!r}.')
    return float(-math.log((1 - prior_prob) / prior_prob))


def _class_names(module: nn.Module) -> set[str]:
    """The module's class name and the names of its direct bases (what ``layer`` matches)."""
    cls = type(module)
    return {cls.__name__, *(base.__name__ for base in cls.__bases__)}


class BaseInit:
    """Common arguments of the registered initializers.

    Args:
        bias: Value for the biases of the initialized layers.
        bias_prob: If given, overrides ``bias`` with ``bias_init_with_prob(bias_prob)``.
        layer: Class name or list of class names to initialize. Ignored when the initializer
            is applied to a whole submodule through ``override``.

    Raises:
        TypeError: If ``bias``, ``bias_prob`` or ``layer`` has a wrong type.
    """

    def __init__(self, *, bias: float = 0, bias_prob: float | None = None,
                 layer: str | list[str] | None = None) -> None:
        self.wholemodule = False
        if not isinstance(bias, (int, float)):
            raise TypeError(f'bias must be a number, but got {type(bias).__name__}: {bias!r}.')
        if bias_prob is not None:
            if not isinstance(bias_prob, float):
                raise TypeError(f'bias_prob must be a float, but got '
                                f'{type(bias_prob).__name__}: {bias_prob!r}.')
            bias = bias_init_with_prob(bias_prob)
        if layer is None:
            layer = []
        elif isinstance(layer, str):
            layer = [layer]
        elif not (isinstance(layer, list) and all(isinstance(x, str) for x in layer)):
            raise TypeError(f'layer must be a class name or a list of class names, but got '
                            f'{layer!r}.')
        self.bias = bias
        self.layer = layer

    def _init_one(self, module: nn.Module) -> None:
        """Initialize one (leaf or not) module; subclasses implement."""
        raise NotImplementedError

    def _args_info(self) -> str:
        return f'bias={self.bias}'

    def _get_init_info(self) -> str:
        return f'{type(self).__name__}: {self._args_info()}'

    def _selects(self, module: nn.Module) -> bool:
        return self.wholemodule or bool(set(self.layer) & _class_names(module))

    def __call__(self, module: nn.Module) -> None:
        """Apply the initializer to every selected submodule of ``module``."""
        def apply_one(m: nn.Module) -> None:
            if self._selects(m):
                self._init_one(m)

        module.apply(apply_one)
        if hasattr(module, '_params_init_info'):
            update_init_info(module, init_info=self._get_init_info())


@WEIGHT_INITIALIZERS.register_module(name='Constant')
class ConstantInit(BaseInit):
    """Fill weights with ``val`` (and biases with ``bias``)."""

    def __init__(self, val: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.val = val

    def _init_one(self, module: nn.Module) -> None:
        constant_init(module, self.val, self.bias)

    def _args_info(self) -> str:
        return f'val={self.val}, bias={self.bias}'


@WEIGHT_INITIALIZERS.register_module(name='Xavier')
class XavierInit(BaseInit):
    """Xavier initialization (``distribution`` is ``'normal'`` or ``'uniform'``)."""

    def __init__(self, gain: float = 1, distribution: str = 'normal', **kwargs: Any) -> None:
        super().__init__(**kwargs)
        _check_distribution(distribution)
        self.gain = gain
        self.distribution = distribution

    def _init_one(self, module: nn.Module) -> None:
        xavier_init(module, self.gain, self.bias, self.distribution)

    def _args_info(self) -> str:
        return f'gain={self.gain}, distribution={self.distribution}, bias={self.bias}'


@WEIGHT_INITIALIZERS.register_module(name='Normal')
class NormalInit(BaseInit):
    """Normal initialization N(mean, std^2)."""

    def __init__(self, mean: float = 0, std: float = 1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.mean = mean
        self.std = std

    def _init_one(self, module: nn.Module) -> None:
        normal_init(module, self.mean, self.std, self.bias)

    def _args_info(self) -> str:
        return f'mean={self.mean}, std={self.std}, bias={self.bias}'


@WEIGHT_INITIALIZERS.register_module(name='TruncNormal')
class TruncNormalInit(BaseInit):
    """Normal initialization truncated to ``[a, b]``."""

    def __init__(self, mean: float = 0, std: float = 1, a: float = -2, b: float = 2,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.mean, self.std, self.a, self.b = mean, std, a, b

    def _init_one(self, module: nn.Module) -> None:
        trunc_normal_init(module, self.mean, self.std, self.a, self.b, self.bias)

    def _args_info(self) -> str:
        return f'a={self.a}, b={self.b}, mean={self.mean}, std={self.std}, bias={self.bias}'


@WEIGHT_INITIALIZERS.register_module(name='Uniform')
class UniformInit(BaseInit):
    """Uniform initialization U(a, b)."""

    def __init__(self, a: float = 0, b: float = 1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.a, self.b = a, b

    def _init_one(self, module: nn.Module) -> None:
        uniform_init(module, self.a, self.b, self.bias)

    def _args_info(self) -> str:
        return f'a={self.a}, b={self.b}, bias={self.bias}'


@WEIGHT_INITIALIZERS.register_module(name='Kaiming')
class KaimingInit(BaseInit):
    """Kaiming initialization (see ``torch.nn.init.kaiming_normal_``)."""

    def __init__(self, a: float = 0, mode: str = 'fan_out', nonlinearity: str = 'relu',
                 distribution: str = 'normal', **kwargs: Any) -> None:
        super().__init__(**kwargs)
        _check_distribution(distribution)
        self.a, self.mode, self.nonlinearity = a, mode, nonlinearity
        self.distribution = distribution

    def _init_one(self, module: nn.Module) -> None:
        kaiming_init(module, self.a, self.mode, self.nonlinearity, self.bias, self.distribution)

    def _args_info(self) -> str:
        return (f'a={self.a}, mode={self.mode}, nonlinearity={self.nonlinearity}, '
                f'distribution={self.distribution}, bias={self.bias}')


@WEIGHT_INITIALIZERS.register_module(name='Caffe2Xavier')
class Caffe2XavierInit(KaimingInit):
    """Caffe2's XavierFill (Kaiming uniform, ``a=1``, ``fan_in``, leaky ReLU)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(a=1, mode='fan_in', nonlinearity='leaky_relu',
                         distribution='uniform', **kwargs)


@WEIGHT_INITIALIZERS.register_module(name='Pretrained')
class PretrainedInit:
    """Load weights from a checkpoint (``layer`` does not apply).

    Args:
        checkpoint: Path or URL of the checkpoint.
        prefix: If given, only the keys starting with ``prefix`` are loaded, with the prefix
            stripped (e.g. ``'backbone.'`` to initialize a backbone from a whole detector).
        map_location: Where to map the loaded tensors.
    """

    def __init__(self, checkpoint: str, prefix: str | None = None,
                 map_location: str | None = 'cpu') -> None:
        self.checkpoint = checkpoint
        self.prefix = prefix
        self.map_location = map_location
        self.wholemodule = False

    def __call__(self, module: nn.Module) -> None:
        """Load the checkpoint into ``module`` (non-strict)."""
        # Lazy: mmengine.runner sits in a higher layer than mmengine.model.
        from mmengine.runner.checkpoint import CheckpointLoader, load_checkpoint, load_state_dict
        if self.prefix is None:
            print_log(f'load model from: {self.checkpoint}', logger='current')
            load_checkpoint(module, self.checkpoint, map_location=self.map_location,
                            strict=False, logger='current')
        else:
            print_log(f'load {self.prefix} in model from: {self.checkpoint}',
                      logger='current')
            checkpoint = CheckpointLoader.load_checkpoint(self.checkpoint,
                                                          map_location=self.map_location)
            state_dict = _select_prefix(checkpoint, self.prefix, self.checkpoint)
            load_state_dict(module, state_dict, strict=False, logger='current')
        if hasattr(module, '_params_init_info'):
            update_init_info(module, init_info=self._get_init_info())

    def _get_init_info(self) -> str:
        return f'{type(self).__name__}: load from {self.checkpoint}'


def _select_prefix(checkpoint: Any, prefix: str, source: str) -> dict:
    """The entries of a checkpoint's state dict under ``prefix``, with the prefix removed."""
    state_dict = checkpoint.get('state_dict', checkpoint) if isinstance(checkpoint, dict) \
        else checkpoint
    if not prefix.endswith('.'):
        prefix += '.'
    selected = {k[len(prefix):]: v for k, v in state_dict.items() if k.startswith(prefix)}
    if not selected:
        raise ValueError(f'No key of checkpoint {source!r} starts with prefix {prefix!r}; '
                         f'check the prefix (keys look like {list(state_dict)[:3]}).')
    return selected


def _initialize(module: nn.Module, cfg: dict, wholemodule: bool = False) -> None:
    func = build_from_cfg(cfg, WEIGHT_INITIALIZERS)
    # Override entries initialize their whole named submodule, whatever its layers.
    func.wholemodule = wholemodule
    func(module)


def _initialize_override(module: nn.Module, override: dict | list, cfg: dict) -> None:
    if not isinstance(override, (dict, list)):
        raise TypeError(f'override must be a dict or a list of dicts, but got '
                        f'{type(override).__name__}: {override!r}.')
    for entry in [override] if isinstance(override, dict) else override:
        entry = copy.deepcopy(entry)
        name = entry.pop('name', None)
        if name is None:
            raise ValueError(f'Each override needs the key "name" (a submodule attribute), '
                             f'but got {entry!r}.')
        if not entry:
            entry.update(cfg)  # a name-only override reuses the outer initializer
        elif 'type' not in entry:
            raise ValueError(f'override {name!r} has arguments but no "type"; give the '
                             f'initializer type too, got {entry!r}.')
        target = getattr(module, name, None)
        if not isinstance(target, nn.Module):
            raise RuntimeError(f'{type(module).__name__} has no submodule {name!r}, but '
                               f'init_cfg overrides it with {entry!r}.')
        _initialize(target, entry, wholemodule=True)


def initialize(module: nn.Module, init_cfg: dict | list[dict]) -> None:
    """Initialize ``module`` with ``init_cfg`` (a dict or list of dicts; see module docs).

    Examples:
        >>> import torch.nn as nn
        >>> model = nn.Linear(2, 3)
        >>> initialize(model, dict(type='Constant', layer='Linear', val=1, bias=2))
        >>> float(model.weight.mean()), float(model.bias.mean())
        (1.0, 2.0)

    Raises:
        TypeError: If ``init_cfg`` is neither a dict nor a list.
    """
    if not isinstance(init_cfg, (dict, list)):
        raise TypeError(f'init_cfg must be a dict or a list of dicts, but got '
                        f'{type(init_cfg).__name__}: {init_cfg!r}.')
    for cfg in [init_cfg] if isinstance(init_cfg, dict) else init_cfg:
        # Copy: one init_cfg may be shared by several modules and is popped from here.
        cfg = copy.deepcopy(cfg)
        override = cfg.pop('override', None)
        _initialize(module, cfg)
        if override is not None:
            cfg.pop('layer', None)
            _initialize_override(module, override, cfg)
