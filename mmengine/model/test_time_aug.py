"""``BaseTTAModel``: run a model on every augmented view of a batch and merge the results."""
from __future__ import annotations

import copy
from abc import abstractmethod
from typing import Any

import torch
import torch.nn as nn

from mmengine.registry import MODELS

from .base_model import BaseModel


class BaseTTAModel(BaseModel):
    """Test-time augmentation wrapper: split the batch per view, predict, merge.

    The test pipeline yields, for each field, a list with one entry per augmented view:
    a dict ``{'inputs': [view0, view1, ...], 'data_samples': [view0, view1, ...]}`` or a
    tuple/list of such lists. ``test_step`` runs ``module.test_step`` on each view and calls
    :meth:`merge_preds` with, per sample, the list of its predictions across views.

    Args:
        module: The model, or its config (built from ``MODELS``).
        data_preprocessor: If ``module`` is a config, set as its ``data_preprocessor``.

    Raises:
        TypeError: If ``module`` is neither a module nor a dict.
    """

    def __init__(self, module: dict | nn.Module, data_preprocessor: dict | None = None) -> None:
        super().__init__()
        if isinstance(module, nn.Module):
            self.module = module
        elif isinstance(module, dict):
            module = copy.deepcopy(module)
            if data_preprocessor is not None:
                module['data_preprocessor'] = data_preprocessor
            self.module = MODELS.build(module)
        else:
            raise TypeError(f'module must be an nn.Module or a config dict, but got '
                            f'{type(module).__name__}.')

    @abstractmethod
    def merge_preds(self, data_samples_list: list[list[Any]]) -> list[Any]:
        """Merge, for each sample, its predictions over the views into one prediction."""

    def test_step(self, data: dict | tuple | list) -> list[Any]:
        """Predict every view with ``module.test_step`` and merge per sample."""
        if isinstance(data, dict):
            num_views = len(next(iter(data.values())))
            views: list = [{key: value[idx] for key, value in data.items()}
                           for idx in range(num_views)]
        elif isinstance(data, (tuple, list)):
            num_views = len(data[0])
            views = [[field[idx] for field in data] for idx in range(num_views)]
        else:
            raise TypeError(f'TTA data must be a dict or a tuple/list of per-view lists, but '
                            f'got {type(data).__name__}.')
        predictions = [self.module.test_step(view) for view in views]
        return self.merge_preds([list(per_sample) for per_sample in zip(*predictions)])

    def forward(self, inputs: torch.Tensor, data_samples: list | None = None,
                mode: str = 'tensor') -> Any:
        """Unused: a TTA model only runs through :meth:`test_step`."""
        raise NotImplementedError(f'{type(self).__name__} runs through test_step only; call '
                                  f'the wrapped module for forward passes.')
