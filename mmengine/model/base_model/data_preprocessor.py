"""Data preprocessors: move a batch to the model's device, then normalize and pad it there."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmengine.registry import MODELS
from mmengine.structures.base_data_element import BaseDataElement

from ..utils import stack_batch


@MODELS.register_module()
class BaseDataPreprocessor(nn.Module):
    """Move every tensor of a batch to the model's device, keeping the batch's structure.

    Tensors and ``BaseDataElement`` s nested anywhere in dicts, lists and tuples (named tuples
    included) are moved; other values are returned as they are. ``BaseModel.to()`` /
    ``cuda()`` / ... keep :attr:`device` in step with the model.

    Args:
        non_blocking: Copy asynchronously (effective from pinned host memory).
    """

    def __init__(self, non_blocking: bool = False) -> None:
        super().__init__()
        self._non_blocking = non_blocking
        self._device = torch.device('cpu')

    def cast_data(self, data: Any) -> Any:
        """Return ``data`` with every tensor and data element moved to :attr:`device`."""
        # Runs on every batch: the usual containers are recognized by exact type first, the
        # abstract-base-class checks below are several times slower.
        kind = type(data)
        if kind is torch.Tensor:
            device = self._device
            # What .to() would return, several times cheaper (``is_cpu`` reads a flag, where
            # ``data.device`` builds a torch.device and ``device.type`` a string).
            if data.is_cpu if device == _CPU or device.type == 'cpu' else data.device == device:
                return data
            return data.to(device, non_blocking=self._non_blocking)
        if kind is dict:
            return dict(zip(data, self._cast_items(data.values())))
        if kind is list:
            return self._cast_items(data)
        if kind is tuple:
            return tuple(self._cast_items(data))
        if isinstance(data, (torch.Tensor, BaseDataElement)):
            return data.to(self._device, non_blocking=self._non_blocking)
        if isinstance(data, Mapping):
            cast = {key: self.cast_data(value) for key, value in data.items()}
            return cast if type(data) is dict else _rebuild(data, cast)
        if isinstance(data, tuple) and hasattr(data, '_fields'):  # a named tuple
            return type(data)(*(self.cast_data(item) for item in data))
        if isinstance(data, Sequence) and not isinstance(data, (str, bytes)):
            return _rebuild(data, [self.cast_data(item) for item in data])
        return data

    def _cast_items(self, items: Any) -> list:
        """``[self.cast_data(item) for item in items]``, without a call for the tensors
        already on the device (the items of a CPU batch, or of one moved before)."""
        # A subclass overriding cast_data sees every item, tensors included.
        skip = type(self).cast_data is _CAST_DATA
        device = self._device
        on_cpu = device == _CPU or device.type == 'cpu'
        cast = []
        for item in items:  # (the tensor test of cast_data, inline)
            if not (skip and type(item) is torch.Tensor
                    and (item.is_cpu if on_cpu else item.device == device)):
                item = self.cast_data(item)
            cast.append(item)
        return cast

    def forward(self, data: Any, training: bool = False) -> Any:
        """Return the batch moved to :attr:`device` (``training`` is unused here)."""
        return self.cast_data(data)

    @property
    def device(self) -> torch.device:
        """The device batches are moved to."""
        return self._device

    def _moved(self, device: Any, *args: Any, **kwargs: Any) -> nn.Module:
        if device is not None:
            self._device = torch.device(device)
        return super().to(*args, **kwargs)

    def to(self, *args: Any, **kwargs: Any) -> nn.Module:
        """Like ``nn.Module.to``; also sets :attr:`device`."""
        device = torch._C._nn._parse_to(*args, **kwargs)[0]
        return self._moved(device, *args, **kwargs)

    def cuda(self, *args: Any, **kwargs: Any) -> nn.Module:
        """Move to a CUDA device (the current one by default)."""
        return self.to(accelerator_device('cuda', *args, **kwargs))

    def musa(self, *args: Any, **kwargs: Any) -> nn.Module:
        """Move to a MUSA device."""
        return self.to(accelerator_device('musa', *args, **kwargs))

    def npu(self, *args: Any, **kwargs: Any) -> nn.Module:
        """Move to an NPU device."""
        return self.to(accelerator_device('npu', *args, **kwargs))

    def mlu(self, *args: Any, **kwargs: Any) -> nn.Module:
        """Move to an MLU device."""
        return self.to(accelerator_device('mlu', *args, **kwargs))

    def cpu(self, *args: Any, **kwargs: Any) -> nn.Module:
        """Move to the CPU."""
        return self.to(torch.device('cpu'))


def accelerator_device(kind: str, device: Any = None, **_: Any) -> torch.device:
    """The device ``kind`` (``'cuda'``, ``'npu'``, ...) with index or device ``device``.

    Accepts the arguments of ``nn.Module.cuda``: an index, a device, or nothing (the
    current device of that kind). Raises ``RuntimeError`` if torch does not know ``kind``.
    """
    if device is None or isinstance(device, int):
        return torch.device(kind, device)
    return torch.device(device)


def _rebuild(original: Any, items: Any) -> Any:
    """A container of ``original``'s type holding ``items``, or a plain one if that fails."""
    try:
        return type(original)(items)
    except TypeError:
        return items if isinstance(original, Mapping) else list(items)


_CAST_DATA = BaseDataPreprocessor.cast_data
# ``device.type`` formats a new string on every read: the usual CPU device is recognized by a
# comparison with this one first (``cpu:0`` falls through to ``type`` and still is a CPU).
_CPU = torch.device('cpu')


@MODELS.register_module()
class ImgDataPreprocessor(BaseDataPreprocessor):
    """Move an image batch to the device, then convert to float, normalize and pad there.

    The input is a dict whose ``'inputs'`` is either a stacked N x C x H x W tensor or a list
    of C x H x W tensors (possibly of different sizes). Images travel to the device in their
    own dtype (typically uint8, 4x less traffic than float32) and are converted afterwards.
    Returns the dict with ``'inputs'`` the padded float batch and ``'data_samples'`` (None if
    absent) moved to the device.

    Args:
        mean: Per-channel means subtracted (after any channel swap). None: no normalization.
        std: Per-channel standard deviations divided by; given together with ``mean``.
        pad_size_divisor: Height and width are padded up to multiples of this.
        pad_value: Value of the padded area (in normalized units).
        bgr_to_rgb: Reverse the channel order of 3-channel images.
        rgb_to_bgr: Same operation; at most one of the two may be set.
        non_blocking: Copy asynchronously.
        batch_augments: Random augmentations of the whole batch (modules, or configs built
            with ``MODELS.build``, e.g. ``dict(type='BatchRandomCrop', size=32, padding=4)``
            and ``dict(type='BatchRandomFlip')``), applied in order when ``training=True``
            only. They run on the device, on the batch as it arrives (typically uint8, where
            crops and flips move 4x less memory than on float), before the channel swap,
            the conversion to float and normalization: their values, such as
            ``BatchRandomCrop``'s ``pad_value``, are therefore in raw pixel units (0 is a
            black border, as with torchvision's ``RandomCrop(padding=...)`` before
            ``Normalize``). They need equally sized images.

    Raises:
        ValueError: If both channel swaps are set, or only one of ``mean``/``std`` is given.
        TypeError: If an entry of ``batch_augments`` is neither a dict nor an ``nn.Module``.
    """

    def __init__(self, mean: Sequence[float | int] | None = None,
                 std: Sequence[float | int] | None = None, pad_size_divisor: int = 1,
                 pad_value: float | int = 0, bgr_to_rgb: bool = False,
                 rgb_to_bgr: bool = False, non_blocking: bool = False,
                 batch_augments: Sequence[dict | nn.Module] | None = None) -> None:
        super().__init__(non_blocking)
        self.batch_augments = _build_augments(batch_augments)
        if bgr_to_rgb and rgb_to_bgr:
            raise ValueError('bgr_to_rgb and rgb_to_bgr cannot both be True; set one of them.')
        if (mean is None) != (std is None):
            raise ValueError(f'mean and std must both be given or both be None, but got '
                             f'mean={mean!r}, std={std!r}.')
        self._enable_normalize = mean is not None
        if mean is not None:
            self.register_buffer('mean', torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1),
                                 False)
            self.register_buffer('std', torch.tensor(std, dtype=torch.float32).view(-1, 1, 1),
                                 False)
        self._channel_conversion = bgr_to_rgb or rgb_to_bgr
        self.pad_size_divisor = pad_size_divisor
        self.pad_value = pad_value

    def _normalize(self, inputs: torch.Tensor) -> torch.Tensor:
        """Swap channels, convert to float and normalize (dim -3 is the channel axis)."""
        if self._channel_conversion:
            if inputs.shape[-3] != 3:
                raise ValueError(f'bgr_to_rgb/rgb_to_bgr need 3-channel images, but got shape '
                                 f'{tuple(inputs.shape)}.')
            inputs = inputs.flip(-3)
        inputs = inputs.float()
        if self._enable_normalize:
            if self.mean.shape[0] not in (1, inputs.shape[-3]):
                raise ValueError(f'mean/std have {self.mean.shape[0]} channels but the images '
                                 f'have {inputs.shape[-3]} (shape {tuple(inputs.shape)}).')
            inputs = (inputs - self.mean) / self.std
        return inputs

    def forward(self, data: dict, training: bool = False) -> dict:
        """Preprocess a batch dict (see the class docstring)."""
        if not isinstance(data, Mapping) or 'inputs' not in data:
            raise TypeError(f'ImgDataPreprocessor expects a dict with key "inputs", but got '
                            f'{type(data).__name__}.')
        data = dict(self.cast_data(data))
        data['inputs'] = self._batch(data['inputs'], training)
        data.setdefault('data_samples', None)
        return data

    def _batch(self, inputs: Any, training: bool = False) -> torch.Tensor:
        """Augment (in training), normalize and pad images (on the device) into a batch."""
        augments = self.batch_augments if training and self.batch_augments else ()
        if _is_tensor_list(inputs):
            shapes = {tuple(x.shape) for x in inputs}
            if len(shapes) > 1 and augments:
                raise ValueError(f'batch_augments need equally sized images, but got sizes '
                                 f'{sorted(shapes)}; resize or crop them to one size in the '
                                 f'dataset pipeline.')
            if len(shapes) > 1:
                return stack_batch([self._normalize(x) for x in inputs],
                                   self.pad_size_divisor, self.pad_value)
            inputs = torch.stack(list(inputs))  # equal sizes: one batched op below
        if not isinstance(inputs, torch.Tensor) or inputs.dim() != 4:
            raise TypeError(f'"inputs" must be an N x C x H x W tensor or a list of C x H x W '
                            f'tensors, but got {_describe(inputs)}.')
        for batch_augment in augments:
            inputs = batch_augment(inputs)
        inputs = self._normalize(inputs)
        height, width = inputs.shape[-2:]
        pad_h, pad_w = -height % self.pad_size_divisor, -width % self.pad_size_divisor
        if pad_h or pad_w:
            inputs = F.pad(inputs, (0, pad_w, 0, pad_h), 'constant', self.pad_value)
        return inputs


def _build_augments(augments: Sequence[dict | nn.Module] | None) -> nn.ModuleList | None:
    """``augments`` as an ``nn.ModuleList`` (dicts built with ``MODELS.build``)."""
    if augments is None:
        return None
    if isinstance(augments, (dict, nn.Module, str)) or not isinstance(augments, Sequence):
        raise TypeError(f'batch_augments must be a list of dicts or nn.Modules, but got '
                        f'{type(augments).__name__}; wrap a single augmentation in a list.')
    modules = []
    for augment in augments:
        if isinstance(augment, dict):
            augment = MODELS.build(augment)
        if not isinstance(augment, nn.Module):
            raise TypeError(f'Each batch_augments entry must be a config dict or an '
                            f'nn.Module, but got {type(augment).__name__} {augment!r}.')
        modules.append(augment)
    return nn.ModuleList(modules)


def _is_tensor_list(value: Any) -> bool:
    return (isinstance(value, (list, tuple)) and len(value) > 0
            and all(isinstance(x, torch.Tensor) for x in value))


def _describe(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return f'a tensor of shape {tuple(value.shape)}'
    return type(value).__name__
