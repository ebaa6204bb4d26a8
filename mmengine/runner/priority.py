"""Hook priorities: a smaller value runs earlier."""
from __future__ import annotations

from enum import Enum


class Priority(Enum):
    """Hook priority levels (the tutorial's table).

    | Level        | Value |
    | ------------ | ----- |
    | HIGHEST      | 0     |
    | VERY_HIGH    | 10    |
    | HIGH         | 30    |
    | ABOVE_NORMAL | 40    |
    | NORMAL       | 50    |
    | BELOW_NORMAL | 60    |
    | LOW          | 70    |
    | VERY_LOW     | 90    |
    | LOWEST       | 100   |
    """

    HIGHEST = 0
    VERY_HIGH = 10
    HIGH = 30
    ABOVE_NORMAL = 40
    NORMAL = 50
    BELOW_NORMAL = 60
    LOW = 70
    VERY_LOW = 90
    LOWEST = 100


def get_priority(priority: int | str | Priority) -> int:
    """Return the integer value of a priority given as an int, a level name or a Priority.

    Args:
        priority: An int in [0, 100], a level name such as ``'NORMAL'`` (any case), or a
            :class:`Priority`.

    Returns:
        The priority value.

    Raises:
        ValueError: For an int outside [0, 100] or an unknown name.
        TypeError: For any other type.

    Examples:
        >>> get_priority('very_low'), get_priority(Priority.HIGH), get_priority(42)
        (90, 30, 42)
    """
    if isinstance(priority, Priority):
        return priority.value
    if isinstance(priority, bool):
        raise TypeError(f'priority must be an int, str or Priority, but got bool: {priority}.')
    if isinstance(priority, int):
        if not 0 <= priority <= 100:
            raise ValueError(f'An int priority must be in [0, 100], but got {priority}.')
        return priority
    if isinstance(priority, str):
        try:
            return Priority[priority.upper()].value
        except KeyError:
            raise ValueError(f'Unknown priority {priority!r}; choose one of '
                             f'{[p.name for p in Priority]} or an int in [0, 100].') from None
    raise TypeError(f'priority must be an int, str or Priority, but got '
                    f'{type(priority).__name__}: {priority!r}.')
