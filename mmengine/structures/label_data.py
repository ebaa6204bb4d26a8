"""``LabelData``: sample-level labels, with one-hot conversion helpers."""
from __future__ import annotations

import torch

from .base_data_element import BaseDataElement


class LabelData(BaseDataElement):
    """Labels of a whole sample (e.g. classification targets or scores).

    Examples:
        >>> LabelData.label_to_onehot(torch.tensor([0, 2]), num_classes=4)
        tensor([1, 0, 1, 0])
        >>> LabelData.onehot_to_label(torch.tensor([0, 1, 1]))
        tensor([1, 2])
    """

    @staticmethod
    def onehot_to_label(onehot: torch.Tensor) -> torch.Tensor:
        """Indices of the non-zero entries of a 1-D one-hot tensor.

        Raises:
            TypeError: If ``onehot`` is not a tensor.
            ValueError: If it is not 1-D or holds values other than 0 and 1.
        """
        if not isinstance(onehot, torch.Tensor):
            raise TypeError(f'onehot must be a tensor, but got {type(onehot).__name__}.')
        if onehot.dim() != 1:
            raise ValueError(f'onehot must be 1-D, but got shape {tuple(onehot.shape)}.')
        if onehot.numel() and not bool(((onehot == 0) | (onehot == 1)).all()):
            raise ValueError('onehot must contain only 0 and 1.')
        return onehot.nonzero().reshape(-1)

    @staticmethod
    def label_to_onehot(label: torch.Tensor, num_classes: int) -> torch.Tensor:
        """A length-``num_classes`` tensor with 1 at each index in ``label``.

        Raises:
            TypeError: If ``label`` is not a tensor.
            ValueError: If a label is negative or not below ``num_classes``.
        """
        if not isinstance(label, torch.Tensor):
            raise TypeError(f'label must be a tensor, but got {type(label).__name__}.')
        label = label.reshape(-1).long()
        onehot = label.new_zeros((num_classes,))
        if label.numel() and not (0 <= int(label.min()) and int(label.max()) < num_classes):
            raise ValueError(f'labels must lie in [0, {num_classes}), but got '
                             f'{label.tolist()}.')
        onehot[label] = 1
        return onehot
