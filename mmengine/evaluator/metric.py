"""``BaseMetric``: accumulate per-batch results, gather them across ranks, compute once."""
from __future__ import annotations

import warnings
from abc import ABCMeta, abstractmethod
from collections.abc import Sequence
from typing import Any

import torch

from mmengine.dist import broadcast_object_list, collect_results, is_main_process
from mmengine.fileio import dump
from mmengine.logging import print_log
from mmengine.registry import METRICS
from mmengine.structures import BaseDataElement


def _to_cpu(data: Any) -> Any:
    """Move every tensor and data element inside ``data`` to the CPU."""
    if isinstance(data, (torch.Tensor, BaseDataElement)):
        return data.cpu()
    if isinstance(data, dict):
        return {key: _to_cpu(value) for key, value in data.items()}
    if isinstance(data, tuple) and hasattr(data, '_fields'):  # a namedtuple
        return type(data)(*(_to_cpu(item) for item in data))
    if isinstance(data, (list, tuple)):
        return type(data)(_to_cpu(item) for item in data)
    return data


class BaseMetric(metaclass=ABCMeta):
    """Base class of evaluation metrics.

    Subclasses implement :meth:`process` (store what a batch contributes in ``self.results``)
    and :meth:`compute_metrics` (turn all stored results into a dict of metrics).
    :meth:`evaluate` gathers the results of every rank in dataset order, drops the samples a
    padding sampler repeated, computes on rank 0 and broadcasts the metrics to all ranks.

    Args:
        collect_device: Where results are gathered: ``'cpu'`` or ``'gpu'``.
        prefix: Prefix of the metric names (``'prefix/name'``); defaults to the class's
            ``default_prefix``.
        collect_dir: Directory for gathering on ``'cpu'`` through files (must be shared by
            all ranks); ``None`` gathers through the process group instead.
    """

    default_prefix: str | None = None

    def __init__(self, collect_device: str = 'cpu', prefix: str | None = None,
                 collect_dir: str | None = None) -> None:
        if collect_dir is not None and collect_device != 'cpu':
            raise ValueError('collect_dir can only be used with collect_device="cpu", got '
                             f'collect_device={collect_device!r}.')
        self._dataset_meta: dict | None = None
        self.collect_device = collect_device
        self.collect_dir = collect_dir
        self.results: list[Any] = []
        self.prefix = prefix or self.default_prefix

    @property
    def dataset_meta(self) -> dict | None:
        """Meta information of the evaluated dataset (set by the evaluator or runner)."""
        return self._dataset_meta

    @dataset_meta.setter
    def dataset_meta(self, dataset_meta: dict | None) -> None:
        self._dataset_meta = dataset_meta

    @abstractmethod
    def process(self, data_batch: Any, data_samples: Sequence) -> None:
        """Store what one batch contributes to the metric in ``self.results``.

        Args:
            data_batch: The batch from the dataloader.
            data_samples: The model's outputs for the batch.
        """

    @abstractmethod
    def compute_metrics(self, results: list) -> dict:
        """Compute the metrics from the results gathered from all ranks.

        Args:
            results: ``self.results`` of every rank, in dataset order.

        Returns:
            Metric names mapped to values.
        """

    def evaluate(self, size: int) -> dict:
        """Gather results from all ranks, compute the metrics once, return them on every rank.

        Args:
            size: Length of the whole dataset; results beyond it are padding and are dropped.

        Returns:
            The metrics, names prefixed with ``prefix/`` when a prefix is set.
        """
        if not self.results:
            warnings.warn(f'{type(self).__name__} got no results: process() did not add '
                          'anything to self.results. Make sure process() appends to it.',
                          stacklevel=2)
        tmpdir = self.collect_dir if self.collect_device == 'cpu' else None
        results = collect_results(self.results, size, self.collect_device, tmpdir=tmpdir)
        metrics: list[dict | None] = [None]
        if is_main_process():
            computed = self.compute_metrics(_to_cpu(results))
            if self.prefix:
                computed = {f'{self.prefix}/{name}': value for name, value in computed.items()}
            metrics = [computed]
        broadcast_object_list(metrics)
        self.results.clear()
        return metrics[0]  # type: ignore[return-value]


@METRICS.register_module()
class DumpResults(BaseMetric):
    """Pickle every prediction into ``out_file_path`` (a ``.pkl`` file); computes no metric.

    Args:
        out_file_path: Output pickle file.
        collect_device: Where results are gathered: ``'cpu'`` or ``'gpu'``.
        collect_dir: Directory for gathering through files (see :class:`BaseMetric`).
    """

    def __init__(self, out_file_path: str, collect_device: str = 'cpu',
                 collect_dir: str | None = None) -> None:
        super().__init__(collect_device=collect_device, collect_dir=collect_dir)
        if not str(out_file_path).endswith(('.pkl', '.pickle')):
            raise ValueError(f'DumpResults writes a pickle file; out_file_path must end with '
                             f'.pkl or .pickle, got {out_file_path!r}.')
        self.out_file_path = out_file_path

    def process(self, data_batch: Any, predictions: Sequence) -> None:
        """Store the batch's predictions (moved to the CPU)."""
        self.results.extend(_to_cpu(list(predictions)))

    def compute_metrics(self, results: list) -> dict:
        """Write all predictions to ``out_file_path`` and return no metric."""
        dump(results, self.out_file_path)
        print_log(f'Results have been saved to {self.out_file_path}.', logger='current')
        return {}
