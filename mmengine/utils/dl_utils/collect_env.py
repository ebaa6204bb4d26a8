"""Describe the software and hardware environment (the "System environment" log block)."""
from __future__ import annotations

import os
import os.path as osp
import shutil
import subprocess
import sys
from collections import OrderedDict, defaultdict

# Seconds a probing subprocess may take; a hung compiler must not stall the start of a run.
_PROBE_TIMEOUT = 10


def _run(cmd: list[str]) -> str | None:
    """Return the stripped output of a command, or None if it is absent, fails or hangs."""
    if shutil.which(cmd[0]) is None and not osp.isfile(cmd[0]):
        return None
    try:
        out = subprocess.run(cmd, capture_output=True, timeout=_PROBE_TIMEOUT, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.decode('utf-8', errors='replace').strip()


def _cuda_home() -> str | None:
    """Locate the CUDA toolkit as PyTorch's extension builder would, without importing it."""
    home = os.environ.get('CUDA_HOME') or os.environ.get('CUDA_PATH')
    if home:
        return home
    nvcc = shutil.which('nvcc')
    if nvcc is not None:
        return osp.dirname(osp.dirname(osp.realpath(nvcc)))
    return '/usr/local/cuda' if osp.isdir('/usr/local/cuda') else None


def _gpu_info(torch: object) -> dict[str, str]:
    """Map ``'GPU 0,1'`` style keys to device names, grouping identical devices."""
    devices: dict[str, list[str]] = defaultdict(list)
    cuda = torch.cuda  # type: ignore[attr-defined]
    for idx in range(cuda.device_count()):
        devices[cuda.get_device_name(idx)].append(str(idx))
    return {f'GPU {",".join(ids)}': name for name, ids in devices.items()}


def _toolchain_info(cuda_available: bool) -> dict[str, str]:
    info: dict[str, str] = {}
    if cuda_available:
        cuda_home = _cuda_home()
        info['CUDA_HOME'] = str(cuda_home)
        if cuda_home is not None and osp.isdir(cuda_home):
            nvcc = _run([osp.join(cuda_home, 'bin', 'nvcc'), '-V'])
            if nvcc:
                info['NVCC'] = nvcc.split('\n')[-1]
    gcc = _run(['gcc', '--version'])
    info['GCC'] = gcc.split('\n')[0] if gcc else 'n/a'
    return info


def collect_env() -> OrderedDict:
    """Collect information about the running environment.

    Returns:
        An ordered dict with ``sys.platform``, ``Python``, ``CUDA available``,
        ``numpy_random_seed``, ``GPU <ids>`` entries and ``CUDA_HOME``/``NVCC`` when CUDA is
        present, ``GCC``, ``PyTorch``, ``PyTorch compiling details``, ``TorchVision`` and
        ``OpenCV`` when installed, ``NumPy`` and ``MMEngine``.
    """
    import numpy as np
    import torch

    env_info: OrderedDict = OrderedDict()
    env_info['sys.platform'] = sys.platform
    env_info['Python'] = sys.version.replace('\n', '')
    cuda_available = torch.cuda.is_available()
    env_info['CUDA available'] = cuda_available
    env_info['numpy_random_seed'] = int(np.random.get_state()[1][0])
    if cuda_available:
        env_info.update(_gpu_info(torch))
    env_info.update(_toolchain_info(cuda_available))
    env_info['PyTorch'] = torch.__version__
    env_info['PyTorch compiling details'] = torch.__config__.show()
    try:
        import torchvision
        env_info['TorchVision'] = torchvision.__version__
    except ImportError:
        pass
    try:
        import cv2
        env_info['OpenCV'] = cv2.__version__
    except ImportError:
        pass
    env_info['NumPy'] = np.__version__
    from mmengine.version import __version__
    env_info['MMEngine'] = __version__
    return env_info
