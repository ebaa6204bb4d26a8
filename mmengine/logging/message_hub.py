"""``MessageHub``: the scalars and runtime information components share during a run."""
from __future__ import annotations

import copy
import sys
import warnings
from collections import OrderedDict
from typing import Any

import numpy as np

from mmengine.utils.manager import ManagerMixin

from .history_buffer import HistoryBuffer

# Resuming needs the smoothing windows, not whole histories; this bounds checkpoint size.
# The Runner lowers it per hub to what its LogProcessor's windows need.
RESUME_HISTORY_LENGTH = 500


def _is_tensor(value: Any) -> bool:
    torch = sys.modules.get('torch')
    return torch is not None and isinstance(value, torch.Tensor)


def _check_scalar(key: str, value: Any) -> None:
    if _is_tensor(value):  # the common case: a loss tensor of every iteration
        if value.numel() == 1:
            return
    elif isinstance(value, int | float | np.number):
        return
    if isinstance(value, np.ndarray) or _is_tensor(value):
        if value.size == 1 if isinstance(value, np.ndarray) else value.numel() == 1:
            return
        raise ValueError(f'Scalar {key!r} must hold exactly one element, but got shape '
                         f'{tuple(value.shape)}.')
    raise TypeError(f'Scalar {key!r} must be a number, a numpy scalar or a one-element tensor, '
                    f'but got {type(value).__name__}: {value!r}.')


_PLAIN = (type(None), bool, int, float, str, bytes)


def _to_plain(value: Any) -> tuple[bool, Any]:
    """Return ``(ok, value)`` with numpy turned into Python data; ``ok`` is False for objects
    ``torch.load(weights_only=True)`` would refuse."""
    if isinstance(value, _PLAIN) or _is_tensor(value):
        return True, value
    if isinstance(value, np.generic | np.ndarray):
        return True, value.tolist()
    if isinstance(value, list | tuple):
        items = [_to_plain(v) for v in value]
        return all(ok for ok, _ in items), type(value)(v for _, v in items)
    if isinstance(value, dict):
        pairs = {k: _to_plain(v) for k, v in value.items()}
        ok = all(ok for ok, _ in pairs.values()) and all(isinstance(k, _PLAIN) for k in pairs)
        return ok, {k: v for k, (_, v) in pairs.items()}
    return False, value


class MessageHub(ManagerMixin):
    """Named store of logged scalars (as :class:`HistoryBuffer`) and runtime information.

    Hooks, loops and the log processor share the current instance: scalars such as
    ``'train/loss'`` accumulate per iteration (accelerator tensors are stored without
    synchronizing), and runtime information such as ``'iter'`` or ``'epoch'`` holds the
    latest value.

    Args:
        name: Name of the global instance.
        log_scalars: Initial scalars, ``{key: HistoryBuffer}``.
        runtime_info: Initial runtime information.
        resumed_keys: ``{key: bool}``, whether each key is saved by :meth:`state_dict`.

    Examples:
        >>> hub = MessageHub.get_instance('doc-hub')
        >>> hub.update_scalar('train/loss', 0.5)
        >>> hub.update_info('iter', 10)
        >>> hub.get_scalar('train/loss').current(), hub.get_info('iter')
        (0.5, 10)
    """

    def __init__(self, name: str, log_scalars: dict | None = None,
                 runtime_info: dict | None = None, resumed_keys: dict | None = None) -> None:
        super().__init__(name)
        self._log_scalars: OrderedDict[str, HistoryBuffer] = OrderedDict()
        for key, buffer in (log_scalars or {}).items():
            if not isinstance(buffer, HistoryBuffer):
                raise TypeError(f'log_scalars[{key!r}] must be a HistoryBuffer, but got '
                                f'{type(buffer).__name__}.')
            self._log_scalars[key] = buffer
        self._runtime_info: OrderedDict[str, Any] = OrderedDict(runtime_info or {})
        self._resumed_keys: OrderedDict[str, bool] = OrderedDict()
        for key in (*self._log_scalars, *self._runtime_info):
            self._resumed_keys[key] = True
        self._resumed_keys.update(resumed_keys or {})
        self._warned_keys: set[str] = set()
        #: How many recent values of each scalar ``state_dict`` keeps (the longest smoothing
        #: window in use); checkpoints then do not grow with training length.
        self.resume_history_length = RESUME_HISTORY_LENGTH

    @classmethod
    def get_current_instance(cls) -> MessageHub:
        """Return the latest instance, creating a default ``'mmengine'`` one if there is none."""
        if not cls._instance_dict:
            cls.get_instance('mmengine')
        return super().get_current_instance()

    def _set_resumed(self, key: str, resumed: bool) -> None:
        if key in self._resumed_keys and self._resumed_keys[key] != resumed:
            raise ValueError(f'{key!r} was registered with resumed={self._resumed_keys[key]}; '
                             f'it cannot be updated with resumed={resumed}.')
        self._resumed_keys[key] = resumed

    def update_scalar(self, key: str, value: Any, count: int = 1, resumed: bool = True) -> None:
        """Append ``value`` (number, numpy scalar or one-element tensor) to scalar ``key``.

        Args:
            key: Scalar name, e.g. ``'train/loss'``.
            value: The value; accelerator tensors are stored as they are (no device
                synchronization), CPU tensors are read at once.
            count: How many samples the value accumulates. Defaults to 1.
            resumed: Whether the scalar is saved by :meth:`state_dict`.
        """
        kind = type(value)
        if kind is not float and kind is not int:  # called per scalar per iteration
            _check_scalar(key, value)
        if self._resumed_keys.get(key) is not resumed:
            self._set_resumed(key, resumed)
        buffer = self._log_scalars.get(key)
        if buffer is None:
            buffer = self._log_scalars[key] = HistoryBuffer()
        buffer.update(value, count)

    def update_scalars(self, log_dict: dict, resumed: bool = True) -> None:
        """Update several scalars; a value may be ``dict(value=..., count=...)``."""
        if not isinstance(log_dict, dict):
            raise TypeError(f'log_dict must be a dict, but got {type(log_dict).__name__}.')
        for key, value in log_dict.items():
            if isinstance(value, dict):
                if 'value' not in value:
                    raise KeyError(f'log_dict[{key!r}] is a dict without a "value" key: '
                                   f'{value!r}.')
                self.update_scalar(key, value['value'], value.get('count', 1), resumed)
            else:
                self.update_scalar(key, value, resumed=resumed)

    def update_info(self, key: str, value: Any, resumed: bool = True) -> None:
        """Set runtime information ``key`` to ``value`` (stored as is, not copied)."""
        if self._resumed_keys.get(key) is not resumed:
            self._set_resumed(key, resumed)
        self._runtime_info[key] = value

    def pop_info(self, key: str, default: Any = None) -> Any:
        """Remove runtime information ``key`` and return it (``default`` if absent)."""
        return self._runtime_info.pop(key, default)

    def update_info_dict(self, info_dict: dict, resumed: bool = True) -> None:
        """Set several runtime information entries."""
        if not isinstance(info_dict, dict):
            raise TypeError(f'info_dict must be a dict, but got {type(info_dict).__name__}.')
        for key, value in info_dict.items():
            self.update_info(key, value, resumed)

    @property
    def log_scalars(self) -> OrderedDict:
        """All scalars, ``{key: HistoryBuffer}``."""
        return self._log_scalars

    @property
    def runtime_info(self) -> OrderedDict:
        """All runtime information."""
        return self._runtime_info

    def get_scalar(self, key: str) -> HistoryBuffer:
        """Return the buffer of scalar ``key``.

        Raises:
            KeyError: If the scalar was never updated.
        """
        if key not in self._log_scalars:
            raise KeyError(f'Scalar {key!r} is not in MessageHub {self.instance_name!r}; known '
                           f'scalars: {list(self._log_scalars)}.')
        return self._log_scalars[key]

    def get_info(self, key: str, default: Any = None) -> Any:
        """Return runtime information ``key``, or ``default`` if it is absent."""
        return self._runtime_info.get(key, default)

    def state_dict(self) -> dict:
        """Plain-data state of the resumed keys, loadable with ``torch.load(weights_only=True)``.

        Each scalar keeps only its last ``resume_history_length`` values (as floats); runtime
        information that is not plain data (custom objects) is skipped with a warning.
        """
        scalars = {key: buffer.state_dict(self.resume_history_length)
                   for key, buffer in self._log_scalars.items() if self._resumed_keys.get(key)}
        info = {}
        for key, value in self._runtime_info.items():
            if not self._resumed_keys.get(key):
                continue
            ok, plain = _to_plain(value)
            if ok:
                info[key] = copy.deepcopy(plain)
            elif key not in self._warned_keys:  # once per key, not at every checkpoint
                self._warned_keys.add(key)
                warnings.warn(f'MessageHub runtime info {key!r} ({type(value).__name__}) is not '
                              'plain data and is left out of the state dict; update it with '
                              'resumed=False to silence this warning.', stacklevel=2)
        return {'log_scalars': scalars, 'runtime_info': info,
                'resumed_keys': dict(self._resumed_keys)}

    def load_state_dict(self, state_dict: dict | MessageHub) -> None:
        """Restore scalars and runtime information from :meth:`state_dict` or another hub."""
        if isinstance(state_dict, MessageHub):
            for key, buffer in state_dict.log_scalars.items():
                if state_dict._resumed_keys.get(key, True):
                    self._log_scalars[key] = copy.deepcopy(buffer)
            for key, value in state_dict.runtime_info.items():
                if state_dict._resumed_keys.get(key, True):
                    self._runtime_info[key] = copy.deepcopy(value)
            self._resumed_keys.update(state_dict._resumed_keys)
            return
        if not isinstance(state_dict, dict):
            raise TypeError('load_state_dict expects a dict from MessageHub.state_dict() or a '
                            f'MessageHub, but got {type(state_dict).__name__}.')
        for key, buffer_state in state_dict.get('log_scalars', {}).items():
            self._log_scalars[key] = (copy.deepcopy(buffer_state)
                                      if isinstance(buffer_state, HistoryBuffer)
                                      else HistoryBuffer.from_state_dict(buffer_state))
        self._runtime_info.update(copy.deepcopy(state_dict.get('runtime_info', {})))
        self._resumed_keys.update(state_dict.get('resumed_keys', {}))
