"""Model helpers: batching with padding, anomalous-parameter detection, SyncBN conversion."""
from __future__ import annotations

import logging

import torch
import torch.fx
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.modules.batchnorm import _BatchNorm

from mmengine.logging import print_log


def stack_batch(tensor_list: list[torch.Tensor], pad_size_divisor: int = 1,
                pad_value: int | float = 0) -> torch.Tensor:
    """Stack tensors of equal rank, padding every dimension but the first.

    Each trailing dimension is padded (at its end) to the batch maximum rounded up to a
    multiple of ``pad_size_divisor``; e.g. C x H x W images become one N x C x H' x W' tensor.

    Examples:
        >>> import torch
        >>> stack_batch([torch.ones(3, 5, 7), torch.ones(3, 6, 4)], pad_size_divisor=4).shape
        torch.Size([2, 3, 8, 8])

    Args:
        tensor_list: The tensors; their first dimensions must be equal.
        pad_size_divisor: Padded sizes are multiples of this. Defaults to 1.
        pad_value: The padding value. Defaults to 0.

    Raises:
        TypeError: If ``tensor_list`` is not a non-empty list of tensors.
        ValueError: If the tensors differ in rank or in their first dimension.
    """
    if not (isinstance(tensor_list, list) and tensor_list
            and all(isinstance(t, torch.Tensor) for t in tensor_list)):
        raise TypeError(f'stack_batch expects a non-empty list of tensors, but got '
                        f'{type(tensor_list).__name__}.')
    if len({t.dim() for t in tensor_list}) != 1 or len({t.shape[0] for t in tensor_list}) != 1:
        raise ValueError(f'stack_batch needs tensors of the same rank and first dimension, '
                         f'but got shapes {[tuple(t.shape) for t in tensor_list]}.')
    if pad_size_divisor < 1:
        raise ValueError(f'pad_size_divisor must be >= 1, but got {pad_size_divisor}.')
    shapes = [tuple(t.shape) for t in tensor_list]
    target = [max(sizes) for sizes in zip(*shapes)]
    target[1:] = [-(-size // pad_size_divisor) * pad_size_divisor for size in target[1:]]
    padded = []
    for tensor, shape in zip(tensor_list, shapes):
        # F.pad lists (left, right) pairs from the last dimension backwards.
        pad = []
        for size, goal in zip(reversed(shape[1:]), reversed(target[1:])):
            pad += [0, goal - size]
        padded.append(F.pad(tensor, pad, value=pad_value) if any(pad) else tensor)
    return torch.stack(padded)


def detect_anomalous_params(loss: torch.Tensor, model: nn.Module) -> list[str]:
    """Log (at ERROR level) the trainable parameters that ``loss`` does not depend on.

    Such parameters receive no gradient, which makes DDP hang or fail unless
    ``find_unused_parameters=True``; this names them.

    Args:
        loss: The loss whose autograd graph is searched.
        model: The model whose parameters are checked.

    Returns:
        The names of the parameters missing from the graph.
    """
    in_graph: set[int] = set()
    seen: set = set()
    pending = [loss.grad_fn]
    while pending:  # iterative: deep graphs would overflow recursion
        node = pending.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        variable = getattr(node, 'variable', None)
        if variable is not None:
            in_graph.add(id(variable))
        pending.extend(parent for parent, _ in node.next_functions)
    missing = []
    for name, param in model.named_parameters():
        if param.requires_grad and id(param) not in in_graph:
            missing.append(name)
            print_log(f'{name} with shape {tuple(param.shape)} is not in the computational '
                      f'graph', logger='current', level=logging.ERROR)
    return missing


def merge_dict(*args: dict) -> dict:
    """Merge dicts into a new one; later keys win. ``torch.fx`` traces through it as a leaf.

    Raises:
        TypeError: If an argument is not a dict.
    """
    output: dict = {}
    for item in args:
        if not isinstance(item, dict):
            raise TypeError(f'merge_dict expects dicts, but got {type(item).__name__}.')
        output.update(item)
    return output


torch.fx.wrap('merge_dict')


class _BatchNormXd(_BatchNorm):
    """Batch norm accepting inputs of any rank (what SyncBatchNorm layers revert to)."""

    def _check_input_dim(self, input: torch.Tensor) -> None:
        return


def _take_bn_state(source: nn.Module, target: nn.Module) -> nn.Module:
    """Give ``target`` (a new batch-norm layer) ``source``'s parameters and statistics."""
    if source.affine:
        with torch.no_grad():
            target.weight = source.weight
            target.bias = source.bias
    target.running_mean = source.running_mean
    target.running_var = source.running_var
    target.num_batches_tracked = source.num_batches_tracked
    return target


def _revert_one(module: nn.Module) -> nn.Module:
    reverted = _take_bn_state(module, _BatchNormXd(
        module.num_features, module.eps, module.momentum, module.affine,
        module.track_running_stats))
    reverted.training = module.training
    if hasattr(module, 'qconfig'):
        reverted.qconfig = module.qconfig
    return reverted


def _sync_bn_types() -> tuple[type, ...]:
    types: list[type] = [nn.SyncBatchNorm]
    try:  # mmcv's SyncBatchNorm, when mmcv is installed
        from mmcv.ops import SyncBatchNorm as MMCVSyncBatchNorm
        types.append(MMCVSyncBatchNorm)
    except ImportError:
        pass
    return tuple(types)


def revert_sync_batchnorm(module: nn.Module) -> nn.Module:
    """Replace every ``SyncBatchNorm`` in ``module`` by a plain batch norm sharing its state.

    Useful to run a model built with SyncBN on CPU or in one process.

    Returns:
        The converted module (``module`` itself, modified, unless it is a SyncBN).
    """
    return _convert(module, _sync_bn_types(), _revert_one)


def _convert(module: nn.Module, types: tuple[type, ...], make) -> nn.Module:
    output = make(module) if isinstance(module, types) else module
    for name, child in module.named_children():
        output.add_module(name, _convert(child, types, make))
    return output


def _to_mmcv_sync_bn(module: nn.Module) -> nn.Module:
    from mmcv.ops import SyncBatchNorm as MMCVSyncBatchNorm
    return _take_bn_state(module, MMCVSyncBatchNorm(
        module.num_features, module.eps, module.momentum, module.affine,
        module.track_running_stats))


def convert_sync_batchnorm(module: nn.Module, implementation: str = 'torch') -> nn.Module:
    """Replace every batch norm in ``module`` by a ``SyncBatchNorm``.

    Args:
        module: The module to convert.
        implementation: ``'torch'`` (``nn.SyncBatchNorm``) or ``'mmcv'``.

    Returns:
        The converted module.

    Raises:
        ValueError: For another ``implementation``.
    """
    if implementation == 'torch':
        return nn.SyncBatchNorm.convert_sync_batchnorm(module)
    if implementation == 'mmcv':
        return _convert(module, (_BatchNorm,), _to_mmcv_sync_bn)
    raise ValueError(f"implementation must be 'torch' or 'mmcv', but got {implementation!r}.")
