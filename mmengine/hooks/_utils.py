"""Helpers shared by several hooks (not public)."""
from __future__ import annotations

import warnings


def merge_backend_args(file_client_args: dict | None, backend_args: dict | None,
                       owner: str) -> dict | None:
    """Accept the deprecated ``file_client_args`` as ``backend_args`` (never both)."""
    if file_client_args is None:
        return backend_args
    if backend_args is not None:
        raise ValueError(f'{owner}: `file_client_args` and `backend_args` cannot both be set; '
                         'use `backend_args` only (`file_client_args` is deprecated).')
    warnings.warn(f'{owner}: `file_client_args` is deprecated; pass `backend_args` instead.',
                  DeprecationWarning)
    return dict(file_client_args)

