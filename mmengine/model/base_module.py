"""``BaseModule``: an ``nn.Module`` initialized from ``init_cfg``, and its containers."""
from __future__ import annotations

import copy
import logging
import warnings
from abc import ABCMeta
from collections import defaultdict
from typing import Any, Iterable

import torch.nn as nn

from mmengine.logging import print_log

from .weight_init import PretrainedInit, initialize, update_init_info
from .wrappers.utils import is_model_wrapper


def _is_pretrained(cfg: dict) -> bool:
    return cfg.get('type') in ('Pretrained', PretrainedInit)


class BaseModule(nn.Module, metaclass=ABCMeta):
    """Base class of modules whose weights are initialized from ``init_cfg``.

    ``init_weights()`` applies ``init_cfg`` to this module, then calls ``init_weights()`` of
    each child that has one and is not initialized yet, and finally loads ``Pretrained``
    entries (so a checkpoint is never overwritten by a child's own initialization). It runs
    once; later calls warn and do nothing. The outermost call logs, for every parameter, which
    initializer last set it.

    Args:
        init_cfg: A dict or list of dicts for ``mmengine.model.initialize``. Defaults to None
            (the children's own initialization only).
    """

    def __init__(self, init_cfg: dict | list[dict] | None = None) -> None:
        super().__init__()
        self._is_init = False
        self.init_cfg = copy.deepcopy(init_cfg)

    @property
    def is_init(self) -> bool:
        """Whether ``init_weights`` has run."""
        return self._is_init

    @is_init.setter
    def is_init(self, value: bool) -> None:
        self._is_init = value

    def init_weights(self) -> None:
        """Initialize the weights (see the class docstring)."""
        is_top_level = not hasattr(self, '_params_init_info')
        if is_top_level:
            self._attach_init_info()
        if self._is_init:
            warnings.warn(f'init_weights of {type(self).__name__} has been called more than '
                          f'once; the later calls do nothing.', stacklevel=2)
        else:
            self._run_init()
            self._is_init = True
        if is_top_level:
            self._dump_init_info()
            for module in self.modules():
                if hasattr(module, '_params_init_info'):
                    del module._params_init_info

    def _attach_init_info(self) -> None:
        """Share one table parameter -> {init_info, tmp_mean_value} with every submodule."""
        table: dict = defaultdict(dict)
        for param in self.parameters():
            table[param]['init_info'] = (f'The value is the same before and after calling '
                                         f'`init_weights` of {type(self).__name__} ')
            table[param]['tmp_mean_value'] = param.data.mean().cpu()
        for module in self.modules():
            module._params_init_info = table

    def _run_init(self) -> None:
        cfgs = [] if not self.init_cfg else (
            [self.init_cfg] if isinstance(self.init_cfg, dict) else list(self.init_cfg))
        pretrained = [cfg for cfg in cfgs if _is_pretrained(cfg)]
        others = [cfg for cfg in cfgs if not _is_pretrained(cfg)]
        if cfgs:
            print_log(f'initialize {type(self).__name__} with init_cfg {self.init_cfg}',
                      logger='current', level=logging.DEBUG)
        if others:
            initialize(self, others)
        for child in self.children():
            if is_model_wrapper(child) and not hasattr(child, 'init_weights'):
                child = child.module
            if hasattr(child, 'init_weights') and not getattr(child, 'is_init', False):
                child.init_weights()
                update_init_info(child, init_info=f'Initialized by user-defined '
                                                  f'`init_weights` in {type(child).__name__} ')
        if pretrained:
            initialize(self, pretrained)

    def _dump_init_info(self) -> None:
        """Log, per parameter, the initializer that last set it (rank 0 via the logger)."""
        lines = []
        for name, param in self.named_parameters():
            info = self._params_init_info[param]['init_info']
            lines.append(f'{name} - {tuple(param.shape)}: \n{info} \n')
        if lines:
            print_log('\n' + '\n'.join(lines), logger='current', level=logging.INFO)

    def __repr__(self) -> str:
        text = super().__repr__()
        if self.init_cfg:
            text += f'\ninit_cfg={self.init_cfg}'
        return text


class Sequential(BaseModule, nn.Sequential):
    """``nn.Sequential`` that takes ``init_cfg``."""

    def __init__(self, *args: nn.Module, init_cfg: dict | list[dict] | None = None) -> None:
        BaseModule.__init__(self, init_cfg)
        nn.Sequential.__init__(self, *args)


class ModuleList(BaseModule, nn.ModuleList):
    """``nn.ModuleList`` that takes ``init_cfg``."""

    def __init__(self, modules: Iterable[nn.Module] | None = None,
                 init_cfg: dict | list[dict] | None = None) -> None:
        BaseModule.__init__(self, init_cfg)
        nn.ModuleList.__init__(self, modules)


class ModuleDict(BaseModule, nn.ModuleDict):
    """``nn.ModuleDict`` that takes ``init_cfg``."""

    def __init__(self, modules: dict[str, Any] | None = None,
                 init_cfg: dict | list[dict] | None = None) -> None:
        BaseModule.__init__(self, init_cfg)
        nn.ModuleDict.__init__(self, modules)
