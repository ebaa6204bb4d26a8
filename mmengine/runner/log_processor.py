"""LogProcessor: turn the MessageHub's scalars into log lines and tags for the visualizer.

Losses reach the MessageHub as tensors every iteration; they are averaged over the smoothing
window (and across ranks) only here, on the iterations that are logged, so the iterations in
between force no host-device synchronization.
"""
from __future__ import annotations

import copy
import datetime
import re
from collections import OrderedDict
from typing import Any

import torch

from mmengine.dist import all_reduce, get_world_size
from mmengine.registry import LOG_PROCESSORS

_MODES = ('train', 'val', 'test')
_TIME_KEYS = ('time', 'data_time')


def _check_mode(mode: str) -> None:
    if mode not in _MODES:
        raise ValueError(f"`mode` must be 'train', 'val' or 'test', but got {mode!r}.")


def _format_eta(seconds: int) -> str:
    """``str(datetime.timedelta(seconds=seconds))``; under a day (every log line of most
    runs) without building the timedelta, which costs several times the arithmetic."""
    if not 0 <= seconds < 86400:
        return str(datetime.timedelta(seconds=seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f'{hours}:{minutes:02d}:{seconds:02d}'


def _strip(key: str, prefix: str) -> str:
    return key[len(prefix):] if key.startswith(prefix) else key


@LOG_PROCESSORS.register_module()
class LogProcessor:
    """Format training/validation/test logs from the runner's MessageHub.

    Lines look like (seed tutorial)::

        Epoch(train) [1][10/1563]  lr: 1.0000e-03  eta: 0:18:23  time: 0.1414  data_time: 0.0077  memory: 392  loss: 5.3465
        Iter(train) [10/1000]  lr: ...
        Epoch(val) [1][10/313]    eta: 0:00:03  time: 0.0122  data_time: 0.0047  memory: 392
        Epoch(val) [1][313/313]  accuracy: 35.7000

    ``memory`` (peak MB since the previous logged line) appears only when CUDA is available.

    Args:
        window_size: Iterations averaged for keys matching ``mean_pattern``; others show the
            latest value. Defaults to 10.
        by_epoch: Epoch-style (``Epoch(train) [e][i/n]``) or iteration-style
            (``Iter(train) [i/N]``) lines. Defaults to True.
        custom_cfg: Extra statistics, each ``dict(data_src='loss', log_name='loss_max',
            method_name='max', window_size=10 | 'epoch' | 'global')``; without ``log_name``
            the statistic replaces ``data_src``'s default one.
        num_digits: Digits after the decimal point. Defaults to 4.
        log_with_hierarchy: Keep the ``train/`` / ``val/`` prefixes in the returned tags
            (the log line never shows them). Defaults to False.
        mean_pattern: Regex of keys averaged over the window.
    """

    def __init__(self, window_size: int = 10, by_epoch: bool = True,
                 custom_cfg: list[dict] | None = None, num_digits: int = 4,
                 log_with_hierarchy: bool = False,
                 mean_pattern: str = r'.*(loss|time|data_time|grad_norm).*') -> None:
        self.window_size = window_size
        self.by_epoch = by_epoch
        self.custom_cfg = copy.deepcopy(custom_cfg) if custom_cfg else []
        self.num_digits = num_digits
        self.log_with_hierarchy = log_with_hierarchy
        self.mean_pattern = re.compile(mean_pattern)
        self._check_custom_cfg()
        # (mode, mean_pattern, MessageHub keys) -> per-key decisions; see ``_scalar_plan``.
        self._plans: dict[tuple, tuple] = {}
        # (runner, epoch, length of the training dataloader in that epoch)
        self._train_length: tuple = (None, -1, 0)
        self._cuda: bool | None = None  # torch.cuda.is_available(), asked on the first line

    def _check_custom_cfg(self) -> None:
        seen: set[str] = set()
        for cfg in self.custom_cfg:
            if not isinstance(cfg, dict) or 'data_src' not in cfg:
                raise ValueError(f'Each `custom_cfg` item must be a dict with `data_src`, got '
                                 f'{cfg!r}.')
            if cfg.get('window_size') == 'epoch' and not self.by_epoch:
                raise ValueError(f"window_size='epoch' needs by_epoch=True ({cfg!r}).")
            name = cfg.get('log_name', cfg['data_src'])
            if name in seen:
                raise ValueError(f'Two `custom_cfg` items produce the log name {name!r}; give '
                                 'them distinct `log_name`s.')
            seen.add(name)

    # ----------------------------------------------------------------------- public API
    def get_log_after_iter(self, runner: Any, batch_idx: int, mode: str) -> tuple[dict, str]:
        """Tags and the log line for iteration ``batch_idx`` of ``mode``.

        Args:
            runner: The runner.
            batch_idx: Index of the batch in the current epoch (training, epoch-based) or in
                the evaluation dataloader.
            mode: ``'train'``, ``'val'`` or ``'test'``.

        Returns:
            ``(tag, log_str)``; ``tag`` holds the numbers for the visualizer (with ``epoch``,
            ``iter`` and ``memory`` when relevant).
        """
        _check_mode(mode)
        custom_cfg = (self._parse_window_size(runner, batch_idx, self.custom_cfg)
                      if self.custom_cfg else [])
        scalars = self._collect_scalars(custom_cfg, runner, mode)
        if mode == 'train':
            self._reduce_across_ranks(scalars)
        digits = self.num_digits
        lr_items, items = [], []
        for name, value in scalars.items():
            if name.endswith('lr'):
                lr_items.append(f'{name}: {value:.{digits}e}')
            elif name not in _TIME_KEYS and (mode == 'train' or 'loss' in name):
                items.append(f'{name}: {value:.{digits}f}' if type(value) is float
                             else f'{name}: {self._fmt(value)}')
        parts = [self._iter_header(runner, batch_idx, mode), ' '.join(lr_items), '  ']
        if 'time' in scalars and 'data_time' in scalars:
            eta = runner.message_hub.get_info('eta')
            if eta is not None:
                parts.append(f'eta: {_format_eta(int(eta))}  ')
            parts.append(f'time: {scalars["time"]:.{digits}f}  '
                         f'data_time: {scalars["data_time"]:.{digits}f}  ')
        extras: dict[str, Any] = {}
        if self._cuda is None:
            self._cuda = torch.cuda.is_available()
        if self._cuda:
            extras['memory'] = self._get_max_memory(runner)
            parts.append(f'memory: {extras["memory"]}  ')
        parts.append('  '.join(items))
        log_str = ''.join(parts).rstrip()
        tag = self._tag(scalars, mode)
        if mode == 'train':
            if self.by_epoch:
                tag['epoch'] = runner.epoch + 1
            tag['iter'] = runner.iter + 1
        tag.update(extras)
        return tag, log_str

    def get_log_after_epoch(self, runner: Any, batch_idx: int, mode: str,
                            with_non_scalar: bool = False) -> tuple[dict, str]:
        """Tags and the summary line at the end of a validation or test epoch.

        Args:
            runner: The runner.
            batch_idx: Number of batches of the epoch (the dataloader's length).
            mode: ``'val'`` or ``'test'``.
            with_non_scalar: Also return (and log) non-scalar metrics stored as info.

        Returns:
            ``(tag, log_str)``; ``tag`` holds the metrics and the epoch's mean ``time`` /
            ``data_time``.
        """
        if mode not in ('val', 'test'):
            raise ValueError(f"`mode` must be 'val' or 'test' at the end of an epoch, got "
                             f'{mode!r}.')
        length = len(getattr(runner, f'{mode}_dataloader'))
        if self.by_epoch and mode == 'val':
            log_str = f'Epoch({mode}) [{self._eval_epoch(runner)}][{length}/{length}]  '
        elif self.by_epoch:
            log_str = f'Epoch({mode}) [{length}/{length}]  '
        else:
            log_str = f'Iter({mode}) [{length}/{length}]  '
        custom_cfg = copy.deepcopy(self.custom_cfg)
        sources = {_strip(cfg['data_src'], f'{mode}/') for cfg in custom_cfg}
        for key in _TIME_KEYS:  # the epoch's averages, not the last window's
            if key not in sources:
                custom_cfg.append(dict(data_src=key, window_size='epoch', method_name='mean'))
        scalars = self._collect_scalars(self._parse_window_size(runner, batch_idx - 1,
                                                                custom_cfg), runner, mode)
        metrics = OrderedDict((k, v) for k, v in scalars.items() if k not in _TIME_KEYS)
        non_scalars = self._collect_non_scalars(runner, mode) if with_non_scalar else {}
        items = [f'{name}: {self._fmt(value)}'
                 for name, value in (*metrics.items(), *non_scalars.items())]
        log_str = (log_str + '  '.join(items)).rstrip()
        tag = self._tag(metrics, mode)
        tag.update(self._tag(non_scalars, mode))
        tag.update(self._tag(OrderedDict((k, scalars[k]) for k in _TIME_KEYS if k in scalars),
                             mode))
        return tag, log_str

    # ------------------------------------------------------------------------- helpers
    def _fmt(self, value: Any) -> str:
        if isinstance(value, float):
            return f'{value:.{self.num_digits}f}'
        if isinstance(value, torch.Tensor) or hasattr(value, 'shape'):
            return f'\n{value}\n'
        return str(value)

    def _tag(self, values: dict, mode: str) -> OrderedDict:
        if not self.log_with_hierarchy:
            return OrderedDict(values)
        return OrderedDict((f'{mode}/{key}', value) for key, value in values.items())

    def _iter_header(self, runner: Any, batch_idx: int, mode: str) -> str:
        if mode == 'train' and not self.by_epoch:
            return f'Iter(train) [{runner.iter + 1}/{runner.max_iters}]  '
        if mode == 'train':
            # Measured once per epoch: len() of a dataloader goes through its sampler.
            epoch = runner.epoch
            cached_runner, cached_epoch, length = self._train_length
            if cached_runner is not runner or cached_epoch != epoch:
                length = len(runner.train_dataloader)
                self._train_length = (runner, epoch, length)
            return f'Epoch(train) [{epoch + 1}][{batch_idx + 1}/{length}]  '
        length = len(getattr(runner, f'{mode}_dataloader'))
        progress = f'[{batch_idx + 1}/{length}]'
        if not self.by_epoch:
            return f'Iter({mode}) {progress}  '
        if mode == 'val':
            return f'Epoch(val) [{self._eval_epoch(runner)}]{progress}  '
        return f'Epoch(test) {progress}  '

    @staticmethod
    def _eval_epoch(runner: Any) -> int:
        # Validation runs after the train loop counted the finished epoch, so ``epoch`` is
        # the number of the epoch just trained (0 for a standalone ``runner.val()``).
        return runner.epoch

    def _parse_window_size(self, runner: Any, batch_idx: int, custom_cfg: list) -> list:
        parsed = []
        for cfg in custom_cfg:
            window = cfg.get('window_size')
            if window == 'epoch':
                cfg = {**cfg, 'window_size': batch_idx + 1}
            elif window == 'global':
                cfg = {**cfg, 'window_size': runner.iter + 1}
            elif window is not None and not isinstance(window, int):
                raise ValueError(f"`window_size` must be an int, 'epoch' or 'global', got "
                                 f'{window!r} in {cfg!r}.')
            parsed.append(cfg)
        return parsed

    def _scalar_plan(self, keys: tuple, mode: str) -> tuple:
        """``(name, key, averaged)`` for each MessageHub key of ``mode``, computed once.

        A log line would otherwise strip prefixes and run ``mean_pattern`` over every key; the
        keys rarely change during a run, so the decisions are cached by the key tuple.
        """
        cache_key = (mode, self.mean_pattern, keys)
        plan = self._plans.get(cache_key)
        if plan is None:
            prefix = f'{mode}/'
            plan = tuple((key[len(prefix):], key,
                          self.mean_pattern.search(key[len(prefix):]) is not None)
                         for key in keys if key.startswith(prefix))
            if len(self._plans) >= 64:  # keys that keep changing must not grow it forever
                self._plans.clear()
            self._plans[cache_key] = plan
        return plan

    def _collect_scalars(self, custom_cfg: list, runner: Any, mode: str) -> dict:
        log_scalars = runner.message_hub.log_scalars
        plan = self._scalar_plan(tuple(log_scalars), mode)
        window_size = self.window_size
        values: dict = {}
        for name, key, averaged in plan:
            buffer = log_scalars[key]
            values[name] = buffer.mean(window_size) if averaged else buffer.current()
        prefix = f'{mode}/'
        for cfg in custom_cfg:
            source = _strip(cfg['data_src'], prefix)
            if f'{prefix}{source}' not in log_scalars:
                continue
            buffer = log_scalars[f'{prefix}{source}']
            method = cfg.get('method_name', 'mean')
            if method == 'current':
                value = buffer.current()
            else:
                value = buffer.statistics(method, cfg.get('window_size'))
            values[cfg.get('log_name', source)] = value
        return values

    def _collect_non_scalars(self, runner: Any, mode: str) -> OrderedDict:
        prefix = f'{mode}/'
        return OrderedDict((_strip(key, prefix), value)
                           for key, value in runner.message_hub.runtime_info.items()
                           if key.startswith(prefix))

    def _reduce_across_ranks(self, values: dict) -> None:
        """Average the smoothed losses over ranks (every rank logs the same iterations)."""
        if get_world_size() <= 1:
            return
        keys = [key for key in values
                if self.mean_pattern.search(key) is not None and key not in _TIME_KEYS]
        if not keys:
            return
        stacked = torch.tensor([float(values[key]) for key in keys], dtype=torch.float64)
        all_reduce(stacked, op='mean')
        for key, value in zip(keys, stacked.tolist()):
            values[key] = value

    @staticmethod
    def _get_max_memory(runner: Any) -> int:
        """Peak CUDA memory in MB since the previous call (the counter is reset)."""
        device = getattr(runner.model, 'output_device', None)
        peak = torch.cuda.max_memory_allocated(device=device)
        torch.cuda.reset_peak_memory_stats(device=device)
        return int(peak) // (1024 * 1024)
