"""Version of the package (kept in [0.10.7, 1.0) so downstream version gates accept it)."""
from __future__ import annotations

import re

__version__ = '0.10.8'


def parse_version_info(version_str: str) -> tuple:
    """Split a version string such as ``'0.10.8'`` or ``'1.0.0rc1'`` into a tuple.

    Args:
        version_str: The version string.

    Returns:
        A tuple of ints, with a trailing string for pre-release parts (``(1, 0, 0, 'rc1')``).
    """
    parts: list = []
    for piece in version_str.split('.'):
        match = re.match(r'(\d+)(.*)', piece)
        if match is None:
            parts.append(piece)
            continue
        parts.append(int(match.group(1)))
        if match.group(2):
            parts.append(match.group(2))
    return tuple(parts)


version_info = parse_version_info(__version__)

__all__ = ['__version__', 'version_info', 'parse_version_info']
