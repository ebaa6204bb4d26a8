"""LoggerHook: print the log lines and send the scalars to the visualizer."""
from __future__ import annotations

import json
import os
import os.path as osp
from typing import Any

from mmengine.registry import HOOKS

from ._utils import merge_backend_args
from .hook import DATA_BATCH, Hook


@HOOKS.register_module()
class LoggerHook(Hook):
    """Log training, validation and test progress every ``interval`` iterations.

    Each logged training iteration goes to ``runner.logger`` (terminal and
    ``<log_dir>/<timestamp>.log``) and, as numbers, to ``runner.visualizer.add_scalars`` at
    step ``runner.iter + 1`` (``vis_data/scalars.json`` and ``vis_data/<timestamp>.json`` with
    the local backend). Validation metrics are written at the epoch (epoch-based runs with
    ``log_metric_by_epoch=True``) or at the global training iteration otherwise.

    Args:
        interval: Log every this many iterations. Defaults to 10.
        ignore_last: Skip the last iterations of an epoch that do not fill an interval.
            Defaults to True.
        interval_exp_name: Log the experiment name every this many iterations. Defaults to
            1000.
        out_dir: Where to copy the log files at the end of the run (any fileio URI); the
            work_dir's last folder name is appended.
        out_suffix: Suffixes of the copied files.
        keep_local: Keep the local files after copying. Defaults to True.
        file_client_args: Deprecated; use ``backend_args``.
        log_metric_by_epoch: Write validation metrics at the epoch in epoch-based runs.
        backend_args: Storage backend arguments of ``out_dir``.
    """

    priority = 'BELOW_NORMAL'

    def __init__(self, interval: int = 10, ignore_last: bool = True,
                 interval_exp_name: int = 1000, out_dir: str | None = None,
                 out_suffix: str | tuple = ('.json', '.log', '.py', 'yaml'),
                 keep_local: bool = True, file_client_args: dict | None = None,
                 log_metric_by_epoch: bool = True, backend_args: dict | None = None) -> None:
        for name, value in (('interval', interval), ('interval_exp_name', interval_exp_name)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f'`{name}` must be a positive int, but got {value!r}.')
        if not isinstance(out_suffix, (str, tuple, list)):
            raise TypeError(f'`out_suffix` must be a str or a tuple of str, but got '
                            f'{type(out_suffix).__name__}.')
        if out_dir is None and not keep_local:
            raise ValueError('`keep_local=False` deletes the local logs after copying them to '
                             '`out_dir`, so it needs `out_dir`.')
        self.interval = interval
        self.ignore_last = ignore_last
        self.interval_exp_name = interval_exp_name
        self.out_dir = out_dir
        self.out_suffix = tuple(out_suffix) if isinstance(out_suffix, list) else out_suffix
        self.keep_local = keep_local
        self.log_metric_by_epoch = log_metric_by_epoch
        self.backend_args = merge_backend_args(file_client_args, backend_args, 'LoggerHook')
        self.file_backend: Any = None
        self.json_log_path: str | None = None
        self._epoch_length: int | None = None

    def before_run(self, runner: Any) -> None:
        """Resolve ``out_dir`` and the per-run JSON log name."""
        if self.out_dir is not None:
            from mmengine.fileio import get_file_backend
            self.file_backend = get_file_backend(self.out_dir, backend_args=self.backend_args)
            basename = osp.basename(str(runner.work_dir).rstrip(osp.sep))
            self.out_dir = self.file_backend.join_path(self.out_dir, basename)
            runner.logger.info(f'Text logs will be saved to {self.out_dir} after the '
                               'training process.')
        self.json_log_path = f'{runner.timestamp}.json'

    def before_train_epoch(self, runner: Any) -> None:
        """Forget the previous epoch's length (read once per epoch when needed)."""
        self._epoch_length = None

    def _train_epoch_length(self, runner: Any) -> int:
        if self._epoch_length is None:
            self._epoch_length = len(runner.train_dataloader)
        return self._epoch_length

    def after_train_iter(self, runner: Any, batch_idx: int, data_batch: DATA_BATCH = None,
                         outputs: dict | None = None) -> None:
        """Log the training line (and scalars) when due."""
        # Runs every iteration, so plain arithmetic on cached values decides (the hook's
        # every_n_* helpers would read runner properties and the loader length each time).
        count = runner.iter + 1
        by_epoch = runner.log_processor.by_epoch
        length = self._epoch_length
        if length is None and by_epoch:
            length = self._train_epoch_length(runner)
        last_of_epoch = by_epoch and batch_idx + 1 == length
        if count % self.interval_exp_name == 0 or last_of_epoch:
            runner.logger.info(f'Exp name: {runner.experiment_name}')
        if by_epoch:
            due = (batch_idx + 1) % self.interval == 0 or last_of_epoch and (
                not self.ignore_last or length <= self.interval)
        else:
            due = count % self.interval == 0 or (
                not self.ignore_last and count == runner.max_iters)
        if not due:
            return
        tag, log_str = runner.log_processor.get_log_after_iter(runner, batch_idx, 'train')
        runner.logger.info(log_str)
        runner.visualizer.add_scalars(tag, step=count, file_path=self.json_log_path)

    def _after_eval_iter(self, runner: Any, batch_idx: int, mode: str) -> None:
        if self.every_n_inner_iters(batch_idx, self.interval):
            _, log_str = runner.log_processor.get_log_after_iter(runner, batch_idx, mode)
            runner.logger.info(log_str)

    def after_val_iter(self, runner: Any, batch_idx: int, data_batch: DATA_BATCH = None,
                       outputs: Any = None) -> None:
        """Log the validation progress line when due."""
        self._after_eval_iter(runner, batch_idx, 'val')

    def after_test_iter(self, runner: Any, batch_idx: int, data_batch: DATA_BATCH = None,
                        outputs: Any = None) -> None:
        """Log the test progress line when due."""
        self._after_eval_iter(runner, batch_idx, 'test')

    def after_val_epoch(self, runner: Any, metrics: dict[str, float] | None = None) -> None:
        """Log the metrics and write them at the epoch or the global iteration."""
        tag, log_str = runner.log_processor.get_log_after_epoch(
            runner, len(runner.val_dataloader), 'val')
        runner.logger.info(log_str)
        by_epoch = self.log_metric_by_epoch and runner.log_processor.by_epoch
        step = runner.epoch if by_epoch else runner.iter
        runner.visualizer.add_scalars(tag, step=step, file_path=self.json_log_path)

    def after_test_epoch(self, runner: Any, metrics: dict[str, float] | None = None) -> None:
        """Log the test metrics and dump the scalar ones to ``<log_dir>/<timestamp>.json``."""
        tag, log_str = runner.log_processor.get_log_after_epoch(
            runner, len(runner.test_dataloader), 'test', with_non_scalar=True)
        runner.logger.info(log_str)
        from mmengine.dist import is_main_process
        if not is_main_process() or self.json_log_path is None:
            return
        plain = {key: value for key, value in tag.items()
                 if isinstance(value, (int, float, str, bool))}
        with open(osp.join(runner.log_dir, self.json_log_path), 'a', encoding='utf-8') as f:
            f.write(json.dumps(plain) + '\n')

    def after_run(self, runner: Any) -> None:
        """Copy the log files to ``out_dir`` (rank 0) and delete them unless ``keep_local``."""
        runner.visualizer.close()
        if self.out_dir is None:
            return
        for handler in runner.logger.handlers:  # the file gets its deferred lines first
            handler.flush()
        from mmengine.dist import is_main_process
        if not is_main_process():
            return
        from mmengine.utils import scandir
        log_dir = runner.log_dir
        copied = []
        for name in scandir(log_dir, self.out_suffix, True):
            local = osp.join(log_dir, name)
            target = self.file_backend.join_path(self.out_dir, name)
            with open(local, encoding='utf-8') as f:
                self.file_backend.put_text(f.read(), target)
            runner.logger.info(f'The file {local} has been uploaded to {target}.')
            copied.append(local)
        if not self.keep_local:
            for local in copied:
                os.remove(local)
