"""NaiveVisualizationHook: send test images with their predictions to the visualizer."""
from __future__ import annotations

import os.path as osp
from typing import Any

import numpy as np
import torch

from mmengine.registry import HOOKS

from .hook import DATA_BATCH, Hook


def _to_image(data: Any) -> np.ndarray:
    """A ``(C, H, W)`` tensor (or ``(H, W, C)`` array) as an ``(H, W, 3)`` uint8 image."""
    if isinstance(data, torch.Tensor):
        array = data.detach().cpu()
        if array.ndim == 3 and array.shape[0] in (1, 3):
            array = array.permute(1, 2, 0)
        array = array.numpy()
    else:
        array = np.asarray(data)
    if array.ndim == 2:
        array = array[..., None]
    if array.shape[-1] == 1:
        array = np.repeat(array, 3, axis=-1)
    if array.dtype != np.uint8:
        low, high = float(array.min()), float(array.max())
        scale = 255.0 / (high - low) if high > low else 1.0
        array = ((array - low) * scale).clip(0, 255).astype(np.uint8)
    return array


def _unpad(image: np.ndarray, shape: tuple) -> np.ndarray:
    return image[:shape[0], :shape[1]]


@HOOKS.register_module()
class NaiveVisualizationHook(Hook):
    """Draw every ``interval``-th test batch with ``runner.visualizer.add_datasample``.

    Inputs are taken from ``data_batch['inputs']``, ground truth from
    ``data_batch['data_samples']`` and predictions from the test step's outputs. Padding is
    removed when the sample has ``img_shape``; the image name is the basename of
    ``img_path`` when present.

    Args:
        interval: Visualize every this many test iterations. Defaults to 1.
        draw_gt: Draw the ground truth. Defaults to True.
        draw_pred: Draw the predictions. Defaults to True.
    """

    priority = 'NORMAL'

    def __init__(self, interval: int = 1, draw_gt: bool = True, draw_pred: bool = True) -> None:
        self._interval = interval
        self._draw_gt = draw_gt
        self._draw_pred = draw_pred

    def before_train(self, runner: Any) -> None:
        """Give the visualizer the dataset's meta information (class names, palette)."""
        dataset = getattr(runner.train_dataloader, 'dataset', None)
        if getattr(dataset, 'metainfo', None) is not None:
            runner.visualizer.dataset_meta = dataset.metainfo

    def after_test_iter(self, runner: Any, batch_idx: int, data_batch: DATA_BATCH = None,
                        outputs: Any = None) -> None:
        """Visualize the batch's images with their predictions."""
        if not self.every_n_inner_iters(batch_idx, self._interval) or data_batch is None:
            return
        if isinstance(data_batch, dict):
            inputs = data_batch.get('inputs', [])
            samples = data_batch.get('data_samples') or [None] * len(inputs)
        else:  # a list of per-sample dicts
            inputs = [item['inputs'] for item in data_batch]
            samples = [item.get('data_samples') for item in data_batch]
        predictions = list(outputs) if isinstance(outputs, (list, tuple)) else samples
        for index, (data, gt) in enumerate(zip(inputs, samples)):
            image = _to_image(data)
            sample = predictions[index] if index < len(predictions) else gt
            shape = getattr(sample, 'img_shape', None)
            if shape is not None:
                image = _unpad(image, shape)
            path = getattr(sample, 'img_path', None)
            name = osp.basename(path) if path else f'test_{batch_idx}_{index}'
            runner.visualizer.add_datasample(name, image, sample, draw_gt=self._draw_gt,
                                             draw_pred=self._draw_pred, step=batch_idx)
