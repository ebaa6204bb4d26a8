"""Look up one metric value by a full or short name."""
from __future__ import annotations

from typing import Any


def get_metric_value(indicator: str, metrics: dict) -> Any:
    """Return the value of the metric named by ``indicator``.

    ``indicator`` is either a full name (``'ACC/accuracy'``) or a short name (``'accuracy'``)
    matching exactly one metric's name after its last ``/``.

    Args:
        indicator: The metric name, with or without prefix.
        metrics: Metric names mapped to values, as returned by ``Evaluator.evaluate``.

    Returns:
        The matching value.

    Raises:
        ValueError: When no metric or several metrics match.

    Examples:
        >>> get_metric_value('acc', {'ACC/acc': 0.9, 'loss': 1.0})
        0.9
    """
    if '/' in indicator:
        if indicator in metrics:
            return metrics[indicator]
        raise ValueError(f'The indicator {indicator!r} matches no metric; available: '
                         f'{sorted(metrics)}.')
    matched = [name for name in metrics if name.split('/')[-1] == indicator]
    if not matched:
        raise ValueError(f'The indicator {indicator!r} matches no metric; available: '
                         f'{sorted(metrics)}.')
    if len(matched) > 1:
        raise ValueError(f'The indicator {indicator!r} is ambiguous, it matches {matched}; use '
                         'the full name with its prefix.')
    return metrics[matched[0]]
