"""Process-level settings applied before training starts."""
from __future__ import annotations

import os
import platform
import warnings


def set_multi_processing(mp_start_method: str = 'fork', opencv_num_threads: int = 0,
                         distributed: bool = False) -> None:
    """Set the multiprocessing start method and thread counts for data loading workers.

    Args:
        mp_start_method: Start method of worker processes (ignored on Windows).
        opencv_num_threads: Threads OpenCV may use (0 disables its threading, which fights
            with dataloader workers); applied only when OpenCV is installed.
        distributed: In distributed runs, default ``OMP_NUM_THREADS`` and ``MKL_NUM_THREADS``
            to 1 when unset, so that processes on one machine do not oversubscribe the CPUs.
    """
    if platform.system() != 'Windows':
        import multiprocessing as mp
        current = mp.get_start_method(allow_none=True)
        if current is not None and current != mp_start_method:
            warnings.warn(f'Multi-processing start method `{mp_start_method}` is different '
                          f'from the previous setting `{current}`. It will be force set to '
                          f'`{mp_start_method}`.')
        mp.set_start_method(mp_start_method, force=True)
    try:
        import cv2
        cv2.setNumThreads(opencv_num_threads)
    except ImportError:
        pass
    if not distributed:
        return
    for var in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS'):
        if var not in os.environ:
            warnings.warn(f'Setting {var} environment variable for each process to be 1 in '
                          'default, to avoid your system being overloaded; tune it for best '
                          'performance.')
            os.environ[var] = '1'
