"""Assertion helpers for tests of models, configs and outputs."""
from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn as nn


def assert_allclose(actual: Any, expected: Any, rtol: float | None = None,
                    atol: float | None = None, equal_nan: bool = True, msg: str = '') -> None:
    """Assert that tensors, arrays or numbers are close (``torch.testing.assert_close``).

    Numpy arrays and Python numbers are converted to tensors; dtypes need not match.
    """
    actual_t = torch.as_tensor(actual)
    expected_t = torch.as_tensor(expected)
    try:
        torch.testing.assert_close(actual_t, expected_t, rtol=rtol, atol=atol,
                                   equal_nan=equal_nan, check_dtype=False)
    except AssertionError as exc:
        raise AssertionError(f'{msg}\n{exc}' if msg else str(exc)) from None


def check_python_script(cmd: str | Sequence[str]) -> None:
    """Run a Python script (``'script.py --arg'``) in a subprocess; fail on a non-zero exit."""
    args = cmd.split() if isinstance(cmd, str) else list(cmd)
    if args and args[0] in ('python', 'python3'):
        args = args[1:]
    result = subprocess.run([sys.executable, *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise AssertionError(f'`{" ".join(args)}` exited with {result.returncode}:\n'
                             f'{result.stderr[-4000:]}')


def assert_dict_contains_subset(dict_obj: dict, expected_subset: dict) -> bool:
    """Whether ``dict_obj`` holds every key of ``expected_subset`` with an equal value."""
    for key, value in expected_subset.items():
        if key not in dict_obj:
            return False
        actual = dict_obj[key]
        if isinstance(value, (torch.Tensor, np.ndarray)) or isinstance(actual,
                                                                     (torch.Tensor, np.ndarray)):
            if not np.array_equal(np.asarray(actual), np.asarray(value)):
                return False
        elif actual != value:
            return False
    return True


def assert_attrs_equal(obj: Any, expected_attrs: dict[str, Any]) -> bool:
    """Whether ``obj`` has every attribute of ``expected_attrs`` with an equal value."""
    return all(hasattr(obj, name) and assert_dict_contains_subset(
        {name: getattr(obj, name)}, {name: value}) for name, value in expected_attrs.items())


def assert_dict_has_keys(obj: dict, expected_keys: Iterable[str]) -> bool:
    """Whether ``obj`` has every key in ``expected_keys``."""
    return set(expected_keys).issubset(obj.keys())


def assert_keys_equal(result_keys: Iterable[str], target_keys: Iterable[str]) -> bool:
    """Whether the two key collections hold the same keys."""
    return set(result_keys) == set(target_keys)


def assert_is_norm_layer(module: nn.Module) -> bool:
    """Whether ``module`` is a batch, group, layer or instance normalization layer."""
    norm_types = (nn.modules.batchnorm._BatchNorm, nn.GroupNorm, nn.LayerNorm,
                  nn.modules.instancenorm._InstanceNorm)
    return isinstance(module, norm_types)


def assert_params_all_zeros(module: nn.Module) -> bool:
    """Whether the module's weight (and bias, if any) are all zeros."""
    weight_zero = torch.equal(module.weight.data, torch.zeros_like(module.weight.data))
    bias = getattr(module, 'bias', None)
    bias_zero = bias is None or torch.equal(bias.data, torch.zeros_like(bias.data))
    return weight_zero and bias_zero
