"""The backend interface every visualization backend implements, and shared helpers."""
from __future__ import annotations

import functools
import warnings
from abc import ABCMeta, abstractmethod
from typing import Any, Callable

import numpy as np
import torch


def force_init_env(old_func: Callable) -> Callable:
    """Decorate a backend method so the backend's environment is set up on first use.

    Backends create directories, writers or remote runs lazily: building a visualizer must
    cost nothing until something is actually recorded.

    Args:
        old_func: A backend method.

    Returns:
        The wrapped method.
    """

    @functools.wraps(old_func)
    def wrapper(obj: Any, *args: Any, **kwargs: Any) -> Any:
        if not getattr(obj, '_env_initialized', False):
            obj._init_env()
            obj._env_initialized = True
        return old_func(obj, *args, **kwargs)

    return wrapper


def to_plain_number(value: Any) -> Any:
    """Turn a 0-d/1-element tensor or numpy scalar into a Python number; keep others."""
    if isinstance(value, torch.Tensor):
        return value.item() if value.numel() == 1 else value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.item() if value.size == 1 else value.tolist()
    return value


def is_scalar_like(value: Any) -> bool:
    """Whether ``value`` can be logged as one number."""
    if isinstance(value, (int, float, np.generic)) and not isinstance(value, bool):
        return True
    if isinstance(value, (torch.Tensor, np.ndarray)):
        return value.size == 1 if isinstance(value, np.ndarray) else value.numel() == 1
    return False


def config_text(config: Any) -> str:
    """The text of a config object: ``pretty_text`` when present, else ``str``."""
    return getattr(config, 'pretty_text', None) or str(config)


def import_client(module: str, package: str, backend: str) -> Any:
    """Import an optional client library or raise an ImportError that says what to install."""
    import importlib
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise ImportError(f'{backend} needs the `{package}` package, which is not installed. '
                          f'Install it with `pip install {package}`.') from e


class BaseVisBackend(metaclass=ABCMeta):
    """Interface of a place where the visualizer records scalars, images, configs and graphs.

    Every ``add_*`` method is a no-op here; backends override what they support. The
    environment (directories, writers, remote runs) is created on first use through
    :func:`force_init_env`.

    Args:
        save_dir: Directory the backend writes into (may be ``None`` for remote backends).
    """

    def __init__(self, save_dir: str | None) -> None:
        if save_dir is not None and not isinstance(save_dir, str):
            save_dir = str(save_dir)
        self._save_dir = save_dir
        self._env_initialized = False

    @property
    @abstractmethod
    def experiment(self) -> Any:
        """The underlying writer / run object of the backend."""

    @abstractmethod
    def _init_env(self) -> Any:
        """Create what the backend writes to."""

    def add_config(self, config: Any, **kwargs: Any) -> None:
        """Record the experiment's config."""

    def add_graph(self, model: torch.nn.Module, data_batch: Any, **kwargs: Any) -> None:
        """Record the model graph."""

    def add_image(self, name: str, image: np.ndarray, step: int = 0, **kwargs: Any) -> None:
        """Record an RGB image."""

    def add_scalar(self, name: str, value: Any, step: int = 0, **kwargs: Any) -> None:
        """Record one scalar."""

    def add_scalars(self, scalar_dict: dict, step: int = 0, file_path: str | None = None,
                    **kwargs: Any) -> None:
        """Record several scalars at one step."""

    def close(self) -> None:
        """Flush and release what the backend holds."""


def check_scalar_dict(scalar_dict: Any) -> None:
    """Raise ``TypeError`` unless ``scalar_dict`` is a dict (shared by every backend)."""
    if not isinstance(scalar_dict, dict):
        raise TypeError(f'`scalar_dict` must be a dict of name -> value, but got '
                        f'{type(scalar_dict).__name__}.')


def warn_non_scalar(backend: str, name: str, value: Any) -> None:
    """Warn once per call that a value cannot be recorded as a scalar."""
    warnings.warn(f'{backend} only records numbers; {name!r} has type '
                  f'{type(value).__name__} and is skipped.')
