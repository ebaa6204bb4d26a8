"""ProfilerHook (torch.profiler) and NPUProfilerHook (Ascend NPUs, needs ``torch_npu``)."""
from __future__ import annotations

import os
import os.path as osp
import shutil
import socket
import sys
import time
import warnings
from typing import Any, Callable

import torch

from mmengine.registry import HOOKS

from .hook import DATA_BATCH, Hook


def check_kineto() -> bool:
    """Whether this PyTorch build has the Kineto profiler backend."""
    try:
        return bool(torch.autograd.kineto_available())
    except AttributeError:
        warnings.warn('This PyTorch build cannot tell whether Kineto is available.')
        return False


@HOOKS.register_module()
class ProfilerHook(Hook):
    """Profile operator time and memory of the first training epoch(s) or iterations.

    Profiling starts at the run's start and stops after ``profile_times`` epochs
    (``by_epoch``, only 1 allowed) or iterations.

    Args:
        by_epoch: Profile epochs (True) or iterations. Defaults to True.
        profile_times: How many epochs/iterations to profile. Defaults to 1.
        activity_with_cpu: Profile CPU activity. Defaults to True.
        activity_with_cuda: Profile CUDA activity. Defaults to False.
        schedule: Keyword arguments of ``torch.profiler.schedule``.
        on_trace_ready: A callable receiving the profiler, or
            ``dict(type='log_trace', **table_kwargs)`` to print the summary table, or
            ``dict(type='tb_trace', dir_name=...)`` to write TensorBoard traces (default
            directory ``<log_dir>/tf_tracing_logs``; relative ones are under ``log_dir``).
        record_shapes: Record input shapes.
        profile_memory: Track tensor memory.
        with_stack: Record source locations.
        with_flops: Estimate FLOPs.
        json_trace_path: Also export a Chrome trace JSON here.
    """

    priority = 'VERY_LOW'

    def __init__(self, *, by_epoch: bool = True, profile_times: int = 1,
                 activity_with_cpu: bool = True, activity_with_cuda: bool = False,
                 schedule: dict | None = None, on_trace_ready: Callable | dict | None = None,
                 record_shapes: bool = False, profile_memory: bool = False,
                 with_stack: bool = False, with_flops: bool = False,
                 json_trace_path: str | None = None) -> None:
        from torch import profiler
        if not check_kineto():
            raise ImportError('ProfilerHook needs a PyTorch build with Kineto support.')
        if not isinstance(profile_times, int) or profile_times < 1:
            raise ValueError(f'`profile_times` must be a positive int, got {profile_times!r}.')
        if by_epoch and profile_times > 1:
            raise ValueError(f'With by_epoch=True only one epoch can be profiled (got '
                             f'profile_times={profile_times}); profiling slows training, so '
                             'profile one epoch or use by_epoch=False.')
        if schedule is not None and not isinstance(schedule, dict):
            raise TypeError(f'`schedule` must be a dict of torch.profiler.schedule arguments, '
                            f'got {type(schedule).__name__}.')
        if on_trace_ready is not None and not (callable(on_trace_ready)
                                               or isinstance(on_trace_ready, dict)):
            raise TypeError('`on_trace_ready` must be a callable or a dict with type '
                            f"'log_trace' or 'tb_trace', got {type(on_trace_ready).__name__}.")
        self.by_epoch = by_epoch
        self.profile_times = profile_times
        self.activities = [profiler.ProfilerActivity.CPU] if activity_with_cpu else []
        if activity_with_cuda:
            self.activities.append(profiler.ProfilerActivity.CUDA)
        self.schedule = profiler.schedule(**schedule) if schedule is not None else None
        self.on_trace_ready = on_trace_ready
        self.record_shapes = record_shapes
        self.profile_memory = profile_memory
        self.with_stack = with_stack
        self.with_flops = with_flops
        self.json_trace_path = json_trace_path
        self._closed = False
        self._last_trace: str | None = None

    def _parse_trace_config(self, runner: Any) -> Callable | None:
        if self.on_trace_ready is None or callable(self.on_trace_ready):
            return self.on_trace_ready
        cfg = dict(self.on_trace_ready)
        kind = cfg.pop('type', None)
        if kind == 'log_trace':
            def log_trace(prof: Any) -> None:
                runner.logger.info('\n' + prof.key_averages().table(**cfg))
            return log_trace
        if kind == 'tb_trace':
            dir_name = cfg.get('dir_name', 'tf_tracing_logs')
            cfg['dir_name'] = dir_name if osp.isabs(dir_name) else osp.join(runner.log_dir,
                                                                            dir_name)
            runner.logger.info(f'ProfilerHook trace files will be saved to {cfg["dir_name"]}.')
            return self._tb_trace_handler(**cfg)
        raise ValueError(f"on_trace_ready type must be 'log_trace' or 'tb_trace', got {kind!r}.")

    def _tb_trace_handler(self, dir_name: str, worker_name: str | None = None,
                          use_gzip: bool = False) -> Callable:
        """Write ``<worker>.<ms>.pt.trace.json`` files TensorBoard's profiler plugin reads.

        Like ``torch.profiler.tensorboard_trace_handler``, but remembers the file so that
        ``json_trace_path`` can receive a copy (a trace can be exported only once).
        """
        def handler(prof: Any) -> None:
            os.makedirs(dir_name, exist_ok=True)
            worker = worker_name or f'{socket.gethostname()}_{os.getpid()}'
            suffix = '.pt.trace.json.gz' if use_gzip else '.pt.trace.json'
            path = osp.join(dir_name, f'{worker}.{time.time_ns() // 1_000_000}{suffix}')
            prof.export_chrome_trace(path)
            self._last_trace = path
        return handler

    def before_run(self, runner: Any) -> None:
        """Check the length and start the profiler."""
        total = runner.max_epochs if self.by_epoch else runner.max_iters
        if total < self.profile_times:
            raise ValueError(f'`profile_times` ({self.profile_times}) exceeds the training '
                             f'length ({total} {"epochs" if self.by_epoch else "iterations"}).')
        self.profiler = torch.profiler.profile(
            activities=self.activities, schedule=self.schedule,
            on_trace_ready=self._parse_trace_config(runner), record_shapes=self.record_shapes,
            profile_memory=self.profile_memory, with_stack=self.with_stack,
            with_flops=self.with_flops)
        self.profiler.__enter__()
        runner.logger.info('profiler is profiling...')

    def after_train_epoch(self, runner: Any) -> None:
        """Stop after the first epoch (iteration-based loops call this once, at the end)."""
        if not self._closed:
            self._export_chrome_trace(runner)

    def after_train_iter(self, runner: Any, batch_idx: int, data_batch: DATA_BATCH = None,
                         outputs: dict | None = None) -> None:
        """Advance the profiler schedule; stop after ``profile_times`` iterations."""
        if self._closed:
            return
        self.profiler.step()
        if not self.by_epoch and runner.iter == self.profile_times - 1:
            self._export_chrome_trace(runner)

    def _export_chrome_trace(self, runner: Any) -> None:
        self._closed = True
        runner.logger.info('profiler may take a few minutes...')
        self.profiler.__exit__(None, None, None)
        if self.json_trace_path is None:
            return
        if self._last_trace is not None and not self._last_trace.endswith('.gz'):
            shutil.copyfile(self._last_trace, self.json_trace_path)
            return
        try:
            self.profiler.export_chrome_trace(self.json_trace_path)
        except RuntimeError as e:  # a custom on_trace_ready already exported the trace
            warnings.warn(f'ProfilerHook could not write json_trace_path: {e}')


@HOOKS.register_module()
class NPUProfilerHook(Hook):
    """Profile training iterations ``[begin, end)`` on Ascend NPUs with ``torch_npu``.

    Args:
        begin: First profiled iteration. Defaults to 0.
        end: Iteration at which profiling stops. Defaults to 1.
        result_path: Output directory. Defaults to ``'cann_profiling'``.
        exit_after_profiling: Exit the process once profiling finished. Defaults to True.
        use_e2e_profiler: Use the end-to-end profiler. Defaults to False.
        ge_profiling_to_std_out: Print graph-engine profiling to stdout. Defaults to False.
    """

    priority = 'VERY_LOW'

    def __init__(self, *, begin: int = 0, end: int = 1, result_path: str = 'cann_profiling',
                 exit_after_profiling: bool = True, use_e2e_profiler: bool = False,
                 ge_profiling_to_std_out: bool = False) -> None:
        try:
            import torch_npu
        except ImportError as e:
            raise ImportError('NPUProfilerHook needs the `torch_npu` package (Ascend NPU '
                              'support for PyTorch); install it to profile on NPUs.') from e
        if begin >= end:
            raise ValueError(f'`begin` ({begin}) must be smaller than `end` ({end}).')
        self._npu = torch_npu
        self.begin, self.end = begin, end
        self.result_path = result_path
        self.exit_after_profiling = exit_after_profiling
        if ge_profiling_to_std_out:
            os.environ['GE_PROFILING_TO_STD_OUT'] = '1'
        self.use_e2e_profiler = use_e2e_profiler

    def before_run(self, runner: Any) -> None:
        """Check that the profiled range lies within training."""
        if self.end > runner.max_iters:
            raise ValueError(f'`end` ({self.end}) exceeds max_iters ({runner.max_iters}).')

    def before_train_iter(self, runner: Any, batch_idx: int,
                          data_batch: DATA_BATCH = None) -> None:
        """Start profiling at ``begin``."""
        if runner.iter == self.begin:
            self.profile = self._npu.npu.profile(self.result_path,
                                                 use_e2e_profiler=self.use_e2e_profiler)
            self.profile.__enter__()
            runner.logger.info('NPUProfiler starts profiling...')

    def after_train_iter(self, runner: Any, batch_idx: int, data_batch: DATA_BATCH = None,
                         outputs: dict | None = None) -> None:
        """Stop profiling at ``end`` (and exit when asked)."""
        if runner.iter == self.end - 1:
            runner.logger.info('profiler may take a few minutes to save the results.')
            self.profile.__exit__(None, None, None)
            if self.exit_after_profiling:
                sys.exit()
