"""``Evaluator``: feeds model outputs to one or more metrics and merges their results."""
from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from mmengine.registry import EVALUATOR, METRICS
from mmengine.structures import BaseDataElement

from .metric import BaseMetric


def _plain(data_samples: Any) -> Any:
    """Convert data elements to dicts once, so every metric sees the same plain data.

    A mapping (or a single data element) is passed as one object; any other iterable becomes
    a list with its data elements converted.
    """
    if isinstance(data_samples, BaseDataElement):
        return data_samples.to_dict()
    if isinstance(data_samples, Mapping):
        return data_samples
    return [s.to_dict() if isinstance(s, BaseDataElement) else s for s in data_samples]


def _num_rows(columns: Mapping) -> int:
    """Length of the first leaf of a (nested) mapping of equally long columns."""
    for value in columns.values():
        return _num_rows(value) if isinstance(value, Mapping) else len(value)
    return 0


def _slice_rows(columns: Mapping, start: int, stop: int) -> dict:
    return {key: _slice_rows(value, start, stop) if isinstance(value, Mapping)
            else value[start:stop] for key, value in columns.items()}


def _chunks(data: Sequence | Mapping, size: int) -> Iterator[Any]:
    """Successive chunks of ``size`` samples: lists, or row slices of a mapping of columns."""
    if isinstance(data, Mapping):
        for start in range(0, _num_rows(data), size):
            yield _slice_rows(data, start, start + size)
        return
    items = iter(data)
    while chunk := list(itertools.islice(items, size)):
        yield chunk


def _length(data: Sequence | Mapping) -> int:
    return _num_rows(data) if isinstance(data, Mapping) else len(data)


@EVALUATOR.register_module()
class Evaluator:
    """Run several metrics over the same model outputs.

    Args:
        metrics: A metric, a ``METRICS`` config dict, or a list of them.

    Examples:
        >>> class Count(BaseMetric):
        ...     def process(self, data_batch, data_samples):
        ...         self.results.extend(data_samples)
        ...     def compute_metrics(self, results):
        ...         return {'count': len(results)}
        >>> Evaluator(Count(prefix='n')).offline_evaluate([1, 2, 3], chunk_size=2)
        {'n/count': 3}
    """

    def __init__(self, metrics: BaseMetric | dict | Sequence[BaseMetric | dict]) -> None:
        self._dataset_meta: dict | None = None
        if isinstance(metrics, (BaseMetric, dict)):
            metrics = [metrics]
        self.metrics: list[BaseMetric] = []
        for metric in metrics:
            if isinstance(metric, dict):
                metric = METRICS.build(metric)
            if not isinstance(metric, BaseMetric):
                raise TypeError('Evaluator: each metric must be a BaseMetric or a config dict, '
                                f'got {type(metric).__name__}.')
            self.metrics.append(metric)

    @property
    def dataset_meta(self) -> dict | None:
        """Meta information of the evaluated dataset; setting it sets every metric's."""
        return self._dataset_meta

    @dataset_meta.setter
    def dataset_meta(self, dataset_meta: dict | None) -> None:
        self._dataset_meta = dataset_meta
        for metric in self.metrics:
            metric.dataset_meta = dataset_meta

    def process(self, data_samples: Any, data_batch: Any = None) -> None:
        """Pass one batch of model outputs (and the input batch) to every metric.

        Args:
            data_samples: The model's outputs; data elements are converted to dicts.
            data_batch: The batch from the dataloader.
        """
        plain = _plain(data_samples)
        for metric in self.metrics:
            metric.process(data_batch, plain)

    def evaluate(self, size: int) -> dict:
        """Evaluate every metric and merge their results.

        Args:
            size: Length of the whole dataset (padding beyond it is dropped).

        Returns:
            All metrics in one dict.

        Raises:
            ValueError: When two metrics produce the same name.
        """
        merged: dict = {}
        for metric in self.metrics:
            results = metric.evaluate(size)
            clash = sorted(set(results) & set(merged))
            if clash:
                raise ValueError(f'Several metrics produce {clash}; give the metrics '
                                 'different prefixes (the prefix= argument).')
            merged.update(results)
        return merged

    def offline_evaluate(self, data_samples: Sequence | Mapping, data: Sequence | None = None,
                         chunk_size: int = 1) -> dict:
        """Evaluate saved predictions (for example loaded from a file) in chunks.

        Args:
            data_samples: Predictions, one per sample, or a dict of equally long columns
                (chunks are then row slices of it).
            data: The matching input data, one per sample, if the metrics need it.
            chunk_size: Samples passed to :meth:`process` at a time.

        Returns:
            The merged metrics.
        """
        if not isinstance(chunk_size, int) or chunk_size < 1:
            raise ValueError(f'chunk_size must be a positive int, got {chunk_size!r}.')
        size = _length(data_samples)
        if data is not None and _length(data) != size:
            raise ValueError(f'data has {_length(data)} samples but data_samples has {size}; '
                             'they must match one to one.')
        data_chunks = _chunks(data, chunk_size) if data is not None else itertools.repeat(None)
        for sample_chunk, data_chunk in zip(_chunks(data_samples, chunk_size), data_chunks):
            self.process(sample_chunk, data_chunk)
        return self.evaluate(size)
