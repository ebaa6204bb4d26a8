"""Small general-purpose helpers."""
from __future__ import annotations

import importlib
from typing import Any


def get_object_from_string(obj_name: str) -> Any:
    """Import and return the object a dotted path names, or ``None`` if it cannot be found.

    Args:
        obj_name: A dotted path such as ``'torch.nn.Linear'`` or ``'os.path.join'``.

    Returns:
        The object, or ``None`` when no prefix of the path is an importable module holding the
        remaining attributes.

    Examples:
        >>> get_object_from_string('os.path.join').__name__
        'join'
        >>> get_object_from_string('no_such_module_xyz.thing') is None
        True
    """
    parts = obj_name.split('.')
    for split in range(len(parts), 0, -1):
        module_name = '.'.join(parts[:split])
        try:
            obj: Any = importlib.import_module(module_name)
        except ImportError:
            continue
        try:
            for attr in parts[split:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return None
        return obj
    return None
