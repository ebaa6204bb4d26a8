"""Visualization backends: local files and TensorBoard here, third-party services re-exported.

``LocalVisBackend`` appends one JSON object per line (with its ``step``) to ``scalars.json``,
writes the config to ``config.py`` and images to ``vis_image/``. ``TensorboardVisBackend``
writes real event files through ``torch.utils.tensorboard``.
"""
from __future__ import annotations

import json
import os
import os.path as osp
from typing import Any

import numpy as np
import torch

from mmengine.registry import VISBACKENDS

from ._base_backend import (
    BaseVisBackend,
    check_scalar_dict,
    config_text,
    force_init_env,
    is_scalar_like,
    to_plain_number,
    warn_non_scalar,
)
from ._external_backends import (
    AimVisBackend,
    ClearMLVisBackend,
    DVCLiveVisBackend,
    MLflowVisBackend,
    NeptuneVisBackend,
    WandbVisBackend,
)

__all__ = [
    'force_init_env', 'BaseVisBackend', 'LocalVisBackend', 'TensorboardVisBackend',
    'WandbVisBackend', 'MLflowVisBackend', 'ClearMLVisBackend', 'NeptuneVisBackend',
    'DVCLiveVisBackend', 'AimVisBackend'
]


def _plain_dict(values: dict) -> dict:
    out = {}
    for key, value in values.items():
        kind = type(value)
        out[key] = value if kind is float or kind is int else to_plain_number(value)
    return out


@VISBACKENDS.register_module()
class LocalVisBackend(BaseVisBackend):
    """Record to plain files under ``save_dir``.

    Args:
        save_dir: Directory to write into (the runner passes ``<log_dir>/vis_data``).
        img_save_dir: Sub-directory for images. Defaults to ``'vis_image'``.
        config_save_file: File name of the dumped config. Defaults to ``'config.py'``.
        scalar_save_file: File name of the scalar log, one JSON object per line. Defaults to
            ``'scalars.json'``.

    The scalar files are opened once, on their first line, and kept open for appending until
    :meth:`close` (the runner closes the visualizer at the end of the run); each line is
    written with one system call, so it is in the file as soon as ``add_scalars`` returns.

    Examples:
        >>> import tempfile, json, os
        >>> d = tempfile.mkdtemp()
        >>> backend = LocalVisBackend(d)
        >>> backend.add_scalars({'loss': 0.5}, step=3)
        >>> open(os.path.join(d, 'scalars.json')).read()
        '{"loss": 0.5, "step": 3}\\n'
    """

    def __init__(self, save_dir: str, img_save_dir: str = 'vis_image',
                 config_save_file: str = 'config.py',
                 scalar_save_file: str = 'scalars.json') -> None:
        if save_dir is None:
            raise ValueError('LocalVisBackend needs a `save_dir`; give one to the backend or '
                             'to the Visualizer (`save_dir=`).')
        super().__init__(save_dir)
        if not scalar_save_file.endswith('.json'):
            raise ValueError(f'`scalar_save_file` must be a .json file, got {scalar_save_file!r}.')
        self._img_save_dir = img_save_dir
        self._config_save_file = config_save_file
        self._scalar_save_file = scalar_save_file
        self._fds: dict[str, int] = {}
        self._extra_files: dict[str, str] = {}

    def _init_env(self) -> None:
        os.makedirs(self._save_dir, exist_ok=True)
        self._img_save_dir = osp.join(self._save_dir, self._img_save_dir)
        self._config_save_file = osp.join(self._save_dir, self._config_save_file)
        self._scalar_save_file = osp.join(self._save_dir, self._scalar_save_file)

    @property  # type: ignore[misc]
    @force_init_env
    def experiment(self) -> LocalVisBackend:
        """The backend itself (it has no separate writer)."""
        return self

    @force_init_env
    def add_config(self, config: Any, **kwargs: Any) -> None:
        """Write the config to ``config.py`` (``Config.dump`` when available)."""
        if hasattr(config, 'dump'):
            config.dump(self._config_save_file)
            return
        with open(self._config_save_file, 'w', encoding='utf-8') as f:
            f.write(config_text(config))

    @force_init_env
    def add_image(self, name: str, image: np.ndarray, step: int = 0, **kwargs: Any) -> None:
        """Save an RGB uint8 image as ``vis_image/<name>_<step>.png``."""
        from PIL import Image
        os.makedirs(self._img_save_dir, exist_ok=True)
        array = np.asarray(image).astype(np.uint8)
        Image.fromarray(array).save(osp.join(self._img_save_dir, f'{name}_{step}.png'))

    @force_init_env
    def add_scalar(self, name: str, value: Any, step: int = 0, **kwargs: Any) -> None:
        """Append ``{name: value, "step": step}`` to the scalar file."""
        record = {name: to_plain_number(value), 'step': step}
        self._append((json.dumps(record) + '\n').encode('utf-8'), self._scalar_save_file)

    @force_init_env
    def add_scalars(self, scalar_dict: dict, step: int = 0, file_path: str | None = None,
                    **kwargs: Any) -> None:
        """Append all scalars of one step as one JSON line.

        Args:
            scalar_dict: Name -> value (numbers or one-element tensors).
            step: The step, stored under ``"step"`` unless the dict has one.
            file_path: Extra ``.json`` file name (relative to ``save_dir``) that receives the
                same line, e.g. the runner's ``<timestamp>.json``.
        """
        check_scalar_dict(scalar_dict)
        record = _plain_dict(scalar_dict)
        record.setdefault('step', step)
        line = (json.dumps(record) + '\n').encode('utf-8')
        if file_path is not None:
            self._append(line, self._extra_file(file_path))
        self._append(line, self._scalar_save_file)

    def _extra_file(self, file_path: str) -> str:
        path = self._extra_files.get(file_path)
        if path is None:
            if not file_path.endswith('.json'):
                raise ValueError(f'`file_path` must name a .json file, got {file_path!r}.')
            path = osp.join(self._save_dir, file_path)
            if osp.abspath(path) == osp.abspath(self._scalar_save_file):
                raise ValueError(f'`file_path` {file_path!r} is the scalar file itself; give '
                                 'another name.')
            self._extra_files[file_path] = path
        return path

    def _append(self, data: bytes, path: str) -> None:
        # One O_APPEND write per line and file: the line is in the file (a complete line,
        # even with several writers) as soon as the call returns, with no open/close.
        fd = self._fds.get(path)
        if fd is None:
            fd = self._fds[path] = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o666)
        written = os.write(fd, data)
        while written < len(data):  # a short write (rare) continues where it stopped
            data = data[written:]
            written = os.write(fd, data)

    def close(self) -> None:
        """Close the scalar files kept open for appending (a later write reopens them)."""
        fds, self._fds = self._fds, {}
        for fd in fds.values():
            os.close(fd)

    def __getstate__(self) -> dict:
        # A copy (or a pickle) opens its own files: two objects closing one descriptor could
        # close an unrelated file that reused the number.
        state = self.__dict__.copy()
        state['_fds'] = {}
        return state

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - nothing to report to at garbage collection
            pass


@VISBACKENDS.register_module()
class TensorboardVisBackend(BaseVisBackend):
    """Record to TensorBoard event files in ``save_dir`` (needs the ``tensorboard`` package).

    Args:
        save_dir: Directory of the event files.
    """

    def __init__(self, save_dir: str) -> None:
        if save_dir is None:
            raise ValueError('TensorboardVisBackend needs a `save_dir`; give one to the '
                             'backend or to the Visualizer (`save_dir=`).')
        super().__init__(save_dir)

    def _init_env(self) -> None:
        os.makedirs(self._save_dir, exist_ok=True)
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as e:
            raise ImportError('TensorboardVisBackend needs the `tensorboard` package. Install '
                              'it with `pip install tensorboard`.') from e
        self._tensorboard = SummaryWriter(self._save_dir)

    @property  # type: ignore[misc]
    @force_init_env
    def experiment(self) -> Any:
        """The ``SummaryWriter``."""
        return self._tensorboard

    @force_init_env
    def add_config(self, config: Any, **kwargs: Any) -> None:
        """Record the config text under the tag ``config``."""
        self._tensorboard.add_text('config', config_text(config))

    @force_init_env
    def add_image(self, name: str, image: np.ndarray, step: int = 0, **kwargs: Any) -> None:
        """Record an ``(H, W, 3)`` RGB image."""
        self._tensorboard.add_image(name, np.asarray(image), step, dataformats='HWC')

    @force_init_env
    def add_scalar(self, name: str, value: Any, step: int = 0, **kwargs: Any) -> None:
        """Record one number; other values are skipped with a warning."""
        if not is_scalar_like(value):
            warn_non_scalar('TensorboardVisBackend', name, value)
            return
        if isinstance(value, torch.Tensor):
            value = value.item()
        self._tensorboard.add_scalar(name, value, step)

    @force_init_env
    def add_scalars(self, scalar_dict: dict, step: int = 0, file_path: str | None = None,
                    **kwargs: Any) -> None:
        """Record each number of ``scalar_dict`` under its own tag at ``step``."""
        check_scalar_dict(scalar_dict)
        for key, value in scalar_dict.items():
            if key != 'step':
                self.add_scalar(key, value, step)

    def close(self) -> None:
        """Flush and close the event file."""
        if getattr(self, '_tensorboard', None) is not None:
            self._tensorboard.close()
