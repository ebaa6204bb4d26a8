"""CheckpointHook: periodic, latest-k, best, relocated and published checkpoints."""
from __future__ import annotations

import hashlib
import io
import os.path as osp
import warnings
from collections import deque
from collections.abc import Callable
from contextlib import nullcontext
from math import inf
from typing import Any

import torch

from mmengine.dist import is_main_process
from mmengine.registry import HOOKS

from ._utils import merge_backend_args
from .hook import DATA_BATCH, Hook

DEFAULT_GREATER_KEYS = ('acc', 'top', 'AR@', 'auc', 'precision', 'mAP', 'mDice', 'mIoU', 'mAcc',
                        'aAcc')
DEFAULT_LESS_KEYS = ('loss', )


def _as_list(name: str, value: Any, item_type: type) -> list:
    values = [value] if isinstance(value, item_type) else list(value)
    if not all(isinstance(v, item_type) for v in values):
        raise TypeError(f'`{name}` must be a {item_type.__name__} or a list of them, but got '
                        f'{value!r}.')
    return values


def infer_rule(key: str, greater_keys: tuple | list, less_keys: tuple | list) -> str:
    """``'greater'`` or ``'less'`` for a metric name, matched case-insensitively.

    Exact matches win over substring matches; greater keys are tried before less keys.
    """
    lowered = key.lower()
    greater = [k.lower() for k in greater_keys]
    less = [k.lower() for k in less_keys]
    if lowered in greater:
        return 'greater'
    if lowered in less:
        return 'less'
    if any(k in lowered for k in greater):
        return 'greater'
    if any(k in lowered for k in less):
        return 'less'
    raise ValueError(f'Cannot infer whether a larger {key!r} is better; pass '
                     "`rule='greater'` or `rule='less'` (or add the key to `greater_keys` / "
                     '`less_keys`).')


@HOOKS.register_module()
class CheckpointHook(Hook):
    """Save checkpoints every ``interval`` epochs or iterations, and the best ones.

    Files (in ``out_dir``, default the work_dir): ``epoch_{n}.pth`` / ``iter_{n}.pth`` (or
    ``filename_tmpl``), ``best_{metric}_epoch_{n}.pth`` / ``best_{metric}_iter_{n}.pth``, and
    ``<work_dir>/last_checkpoint`` naming the newest regular checkpoint (written after it,
    atomically), and ``<work_dir>/last_checkpoint.json`` recording every saved checkpoint's
    size and SHA-256 so a resume can verify it. Only rank 0 writes or deletes files. The best
    score, best file and kept checkpoints are stored in the MessageHub, so they survive a
    resume.

    During training a save returns once the checkpoint is streamed into its temporary file;
    hashing, fsync and the rename into place finish in a background thread (see
    :func:`mmengine.runner.checkpoint.deferred_commit`). The manifest, ``last_checkpoint``
    and the deletion of old or superseded best checkpoints follow only once the new file is
    committed. The next save, any checkpoint load and the end of training wait for the
    commit; a failed commit is handled per ``on_save_error`` there, and the hook's
    bookkeeping (``last_ckpt``, ``keep_ckpt_ids``, best score and path) reverts to what it
    was before that save.

    Args:
        interval: Save every this many epochs (``by_epoch``) or iterations; ``-1`` only saves
            the last one (with ``save_last``).
        by_epoch: Count ``interval`` in epochs or iterations. Defaults to True.
        save_optimizer: Include the optimizer state. Defaults to True.
        save_param_scheduler: Include the schedulers' state. Defaults to True.
        out_dir: Directory (any fileio URI) for checkpoints; the work_dir's last folder name
            is appended when it differs from the work_dir.
        max_keep_ckpts: Keep only the newest this many regular checkpoints (-1: all).
        save_last: Also save after the last epoch/iteration. Defaults to True.
        save_best: Metric name(s) whose best value is kept as a separate checkpoint;
            ``'auto'`` uses the first metric of the evaluation.
        rule: ``'greater'`` or ``'less'`` (one, or one per ``save_best`` key); inferred from
            the metric name when ``None``.
        greater_keys: Names whose larger value is better (defaults include ``acc``, ``top``,
            ``mAP``, ``mIoU``...).
        less_keys: Names whose smaller value is better (default ``('loss',)``).
        file_client_args: Deprecated; use ``backend_args``.
        filename_tmpl: Name template with one ``{}`` for the epoch/iteration.
        backend_args: Storage backend arguments of ``out_dir``.
        published_keys: Keys kept in a published copy of the last and/or best checkpoint,
            named ``<name>-<first 8 hex digits of the file's SHA-256>.pth``.
        save_begin: First epoch/iteration from which ``interval`` counts. Defaults to 0.
        on_save_error: What a failed save (disk full, permission denied) does: ``'raise'``
            (default) logs the error and re-raises it, stopping training with nothing
            half-written; ``'continue'`` logs it and trains on without that checkpoint.
            Either way earlier checkpoints and ``last_checkpoint`` stay intact. A failure of
            the background commit is logged when it happens and, with ``'raise'``, raised at
            the next save or at the end of training.
        **kwargs: Extra arguments of ``runner.save_checkpoint``.
    """

    priority = 'VERY_LOW'
    rule_map = {'greater': lambda x, y: x > y, 'less': lambda x, y: x < y}
    init_value_map = {'greater': -inf, 'less': inf}
    _default_greater_keys = DEFAULT_GREATER_KEYS
    _default_less_keys = DEFAULT_LESS_KEYS

    def __init__(self, interval: int = -1, by_epoch: bool = True, save_optimizer: bool = True,
                 save_param_scheduler: bool = True, out_dir: str | None = None,
                 max_keep_ckpts: int = -1, save_last: bool = True,
                 save_best: str | list[str] | None = None,
                 rule: str | list[str] | None = None, greater_keys: Any = None,
                 less_keys: Any = None, file_client_args: dict | None = None,
                 filename_tmpl: str | None = None, backend_args: dict | None = None,
                 published_keys: str | list[str] | None = None, save_begin: int = 0,
                 on_save_error: str = 'raise', **kwargs: Any) -> None:
        self.interval = interval
        self.by_epoch = by_epoch
        self.save_optimizer = save_optimizer
        self.save_param_scheduler = save_param_scheduler
        self.out_dir = out_dir
        self.max_keep_ckpts = max_keep_ckpts
        self.save_last = save_last
        self.args = kwargs
        self.backend_args = merge_backend_args(file_client_args, backend_args, 'CheckpointHook')
        self.filename_tmpl = filename_tmpl or ('epoch_{}.pth' if by_epoch else 'iter_{}.pth')
        if not isinstance(save_begin, int) or save_begin < 0:
            raise ValueError(f'`save_begin` must be a non-negative int, got {save_begin!r}.')
        self.save_begin = save_begin
        if on_save_error not in ('raise', 'continue'):
            raise ValueError(f"`on_save_error` must be 'raise' or 'continue', got "
                             f'{on_save_error!r}.')
        self.on_save_error = on_save_error
        self.greater_keys = (self._default_greater_keys if greater_keys is None
                             else tuple(_as_list('greater_keys', greater_keys, str)))
        self.less_keys = (self._default_less_keys if less_keys is None
                          else tuple(_as_list('less_keys', less_keys, str)))
        self._setup_best(save_best, rule)
        self.published_keys = (None if published_keys is None
                               else _as_list('published_keys', published_keys, str))
        if self.published_keys is not None and not (save_best or save_last):
            raise ValueError('`published_keys` publishes the best and/or last checkpoint, so it '
                             'needs `save_best` or `save_last`.')
        self.last_ckpt: str | None = None
        self.keep_ckpt_ids: deque = deque()
        self.file_backend: Any = None
        self._work_dir: str | None = None
        self._deferring = False  # saves commit in the background (during training)
        self._rollback: Any = None  # undoes the bookkeeping of a failed background commit

    # ------------------------------------------------------------------- configuration
    def _setup_best(self, save_best: Any, rule: Any) -> None:
        self.save_best = save_best
        self.key_indicators: list[str] = []
        self.rules: list[str | None] = []
        self.is_better_than: dict[str, Any] = {}
        self.best_ckpt_path: str | None = None
        self.best_ckpt_path_dict: dict[str, str | None] = {}
        if save_best is None:
            return
        keys = _as_list('save_best', save_best, str)
        if 'auto' in keys and len(keys) > 1:
            raise ValueError("`save_best='auto'` cannot be combined with other keys.")
        rules = [None] if rule is None else _as_list('rule', rule, str)
        if len(rules) not in (1, len(keys)):
            raise ValueError(f'Give one `rule` or one per `save_best` key; got {len(rules)} '
                             f'rules for {len(keys)} keys.')
        self._init_rule(rules, keys)
        if len(keys) > 1:
            self.best_ckpt_path_dict = dict.fromkeys(keys)

    def _init_rule(self, rules: list, key_indicators: list[str]) -> None:
        """Resolve one comparison rule per key (inferring unset ones from the key name)."""
        if len(rules) == 1:
            rules = rules * len(key_indicators)
        self.rules = []
        for rule, key in zip(rules, key_indicators):
            if rule is not None and rule not in self.rule_map:
                raise ValueError(f"`rule` must be 'greater', 'less' or None, got {rule!r}.")
            if rule is None and key != 'auto':
                rule = infer_rule(key, self.greater_keys, self.less_keys)
            if rule is not None:
                self.is_better_than[key] = self.rule_map[rule]
            self.rules.append(rule)
        self.key_indicators = list(key_indicators)

    # ---------------------------------------------------------------------------- stages
    def before_train(self, runner: Any) -> None:
        """Resolve ``out_dir``, announce it, and restore best/kept bookkeeping on resume."""
        from mmengine.fileio import get_file_backend
        # Saving by epoch leaves nothing to do after each iteration, and the reverse.
        self._set_idle_stages(('after_train_iter',) if self.by_epoch else ('after_train_epoch',))
        work_dir = str(runner.work_dir)
        self._work_dir = work_dir
        if self.out_dir is None:
            self.out_dir = work_dir
        self.file_backend = get_file_backend(self.out_dir, backend_args=self.backend_args)
        if str(self.out_dir) != work_dir:
            basename = osp.basename(work_dir.rstrip(osp.sep))
            self.out_dir = self.file_backend.join_path(str(self.out_dir), basename)
        runner.logger.info(f'Checkpoints will be saved to {self.out_dir}.')
        hub = runner.message_hub
        if len(self.key_indicators) == 1:
            self.best_ckpt_path = hub.get_info('best_ckpt')
        for key in self.best_ckpt_path_dict:
            self.best_ckpt_path_dict[key] = hub.get_info(f'best_ckpt_{key}')
        if self.max_keep_ckpts > 0:
            kept = list(hub.get_info('keep_ckpt_ids') or [])
            while len(kept) > self.max_keep_ckpts:
                self._remove(kept.pop(0))
            self.keep_ckpt_ids = deque(kept)
        self._deferring = True

    def after_train_epoch(self, runner: Any) -> None:
        """Save at the end of every ``interval``-th epoch (and the last)."""
        if not self.by_epoch:
            return
        if self.every_n_epochs(runner, self.interval, self.save_begin) or (
                self.save_last and self.is_last_train_epoch(runner)):
            runner.logger.info(f'Saving checkpoint at {runner.epoch + 1} epochs')
            self._save_checkpoint(runner)

    def after_train_iter(self, runner: Any, batch_idx: int, data_batch: DATA_BATCH = None,
                         outputs: dict | None = None) -> None:
        """Save after every ``interval``-th iteration (and the last) in iteration mode."""
        if self.by_epoch:
            return
        if self.every_n_train_iters(runner, self.interval, self.save_begin) or (
                self.save_last and self.is_last_train_iter(runner)):
            runner.logger.info(f'Saving checkpoint at {runner.iter + 1} iterations')
            self._save_checkpoint(runner)

    def after_val_epoch(self, runner: Any, metrics: dict[str, float] | None = None) -> None:
        """Save the best checkpoint(s) when the monitored metric improved."""
        if not metrics:
            warnings.warn('CheckpointHook: the evaluation returned no metrics, so no best '
                          'checkpoint can be chosen. Check the evaluator.')
            return
        self._save_best_checkpoint(runner, metrics)

    def after_train(self, runner: Any) -> None:
        """Wait for the last checkpoint's commit, then publish the last and/or best
        checkpoints with only ``published_keys``."""
        try:
            self._sync()
        finally:
            self._deferring = False
        if self.published_keys is None or not is_main_process():
            return
        if self.save_last and self.last_ckpt is not None:
            self._publish_model(runner, self.last_ckpt)
        bests = [self.best_ckpt_path, *self.best_ckpt_path_dict.values()]
        for path in bests:
            if path is not None:
                self._publish_model(runner, path)

    def after_run(self, runner: Any) -> None:
        """Never leave a checkpoint commit pending after the run (safety net)."""
        self._deferring = False
        self._sync()

    # --------------------------------------------------------------------------- saving
    def _path(self, step: int) -> str:
        return self.file_backend.join_path(self.out_dir, self.filename_tmpl.format(step))

    def _remove(self, step_or_path: int | str) -> None:
        """Delete a checkpoint (rank 0 only); missing files are ignored."""
        if not is_main_process():
            return
        path = self._path(step_or_path) if isinstance(step_or_path, int) else step_or_path
        if self.file_backend.isfile(path):
            self.file_backend.remove(path)
        elif self.file_backend.isdir(path):
            self.file_backend.rmtree(path)
        if self._work_dir is not None:
            from mmengine.runner.checkpoint import forget_checkpoint
            forget_checkpoint(self._work_dir, path)

    def _sync(self) -> None:
        """Wait for the pending checkpoint commit; undo the bookkeeping of a failed one.

        Raises:
            CheckpointSaveError: If it failed with ``on_save_error='raise'``.
        """
        from mmengine.runner.checkpoint import wait_for_checkpoint_commits
        try:
            wait_for_checkpoint_commits()
        finally:
            rollback, self._rollback = self._rollback, None
            if rollback is not None:
                rollback()

    def _failed(self, runner: Any, filename: str, exc: BaseException) -> bool:
        """Log a failed save; True when ``on_save_error='continue'`` tolerates it."""
        runner.logger.error(f'Saving checkpoint {filename} in {self.out_dir} failed: {exc}')
        if self.on_save_error == 'raise':
            return False
        runner.logger.warning("on_save_error='continue': training goes on without this "
                              'checkpoint.')
        return True

    def _try_save(self, runner: Any, filename: str, committed: Callable[[], None],
                  rollback: Callable[[], None], **kwargs: Any) -> bool:
        """``runner.save_checkpoint`` into ``out_dir/filename``, then ``committed()`` once the
        file is in place (in the committer thread during training).

        ``rollback()`` undoes the bookkeeping done for this save when it fails: at once for
        a failed write, at the next :meth:`_sync` for a failed background commit.

        Returns:
            False when the write failed and ``on_save_error='continue'``.
        """
        from mmengine.runner.checkpoint import deferred_commit

        def commit_failed(exc: BaseException) -> bool:  # runs in the committer thread
            self._rollback = rollback
            return self._failed(runner, filename, exc)

        scope = deferred_commit(committed, commit_failed) if self._deferring else nullcontext()
        try:
            with scope:
                runner.save_checkpoint(self.out_dir, filename, backend_args=self.backend_args,
                                       **kwargs)
        except OSError as exc:
            rollback()
            if not self._failed(runner, filename, exc):
                raise
            return False
        if not self._deferring:
            committed()
        return True

    def _record(self, runner: Any, path: str, kind: str, meta: dict) -> None:
        """Record size and SHA-256 (and, for regular ones, ``last_checkpoint``); rank 0."""
        if not is_main_process():
            return
        from mmengine.runner.checkpoint import record_checkpoint
        record_checkpoint(str(runner.work_dir), path, kind, update_pointer=kind == 'regular',
                          epoch=int(meta['epoch']), iter=int(meta['iter']))

    def _save_checkpoint(self, runner: Any) -> None:
        if self.by_epoch:
            step = runner.epoch + 1
            meta = dict(epoch=step, iter=runner.iter)
        else:
            step = runner.iter + 1
            meta = dict(epoch=runner.epoch, iter=step)
        self._save_checkpoint_with_step(runner, step, meta)

    def _save_checkpoint_with_step(self, runner: Any, step: int, meta: dict) -> None:
        self._sync()
        hub = runner.message_hub
        kept, dropped = list(self.keep_ckpt_ids), []
        if self.max_keep_ckpts > 0 and step not in kept:
            kept.append(step)
            dropped, kept = kept[:-self.max_keep_ckpts], kept[-self.max_keep_ckpts:]
        before = (self.last_ckpt, hub.get_info('keep_ckpt_ids'), self.keep_ckpt_ids)
        path = self._path(step)
        # The hub is updated first so the checkpoint itself carries this bookkeeping.
        self.last_ckpt = path
        hub.update_info('last_ckpt', path)
        if self.max_keep_ckpts > 0:
            hub.update_info('keep_ckpt_ids', kept)
        self.keep_ckpt_ids = deque(kept)

        def rollback() -> None:
            self.last_ckpt, self.keep_ckpt_ids = before[0], before[2]
            hub.update_info('last_ckpt', before[0])
            if self.max_keep_ckpts > 0:
                hub.update_info('keep_ckpt_ids', before[1])

        def committed() -> None:  # old files go only once the new one is durable
            self._record(runner, path, 'regular', meta)
            for old in dropped:
                self._remove(old)

        self._try_save(runner, self.filename_tmpl.format(step), committed, rollback,
                       save_optimizer=self.save_optimizer,
                       save_param_scheduler=self.save_param_scheduler, meta=meta,
                       by_epoch=self.by_epoch, **self.args)

    def _save_best_checkpoint(self, runner: Any, metrics: dict) -> None:
        if not self.save_best:
            return
        self._sync()  # a failed earlier best save must not leave its score in the hub
        unit, step = ('epoch', runner.epoch) if self.by_epoch else ('iter', runner.iter)
        filename = self.filename_tmpl.format(step)
        meta = dict(epoch=runner.epoch, iter=runner.iter)
        if 'auto' in self.key_indicators:
            self._init_rule(self.rules, [next(iter(metrics))])
        single = len(self.key_indicators) == 1
        updated = False
        for key, rule in zip(self.key_indicators, self.rules):
            if key not in metrics:
                raise KeyError(f'CheckpointHook: save_best={key!r} is not among the evaluation '
                               f'metrics {sorted(metrics)}; use one of them.')
            score = metrics[key]
            score_key = 'best_score' if single else f'best_score_{key}'
            best = runner.message_hub.get_info(score_key, self.init_value_map[rule])
            if score is None or not self.is_better_than[key](score, best):
                continue
            best_name = f'best_{key}_{filename}'.replace('/', '_')
            if not self._save_best(runner, key, score, best_name, meta):
                continue
            updated = True
            runner.logger.info(f'The best checkpoint with {float(score):0.4f} {key} at {step} '
                               f'{unit} is saved to {best_name}.')
        # The regular checkpoint of this step was written before this validation: re-save it
        # so that it carries the new best score and path and a resume recovers them.
        if updated and self.last_ckpt is not None and self.last_ckpt == self._path(step):
            self._save_checkpoint_with_step(runner, step, meta)

    def _best_path(self, key: str) -> str | None:
        if len(self.key_indicators) == 1:
            return self.best_ckpt_path
        return self.best_ckpt_path_dict.get(key)

    def _set_best_path(self, key: str, path: str | None) -> None:
        if len(self.key_indicators) == 1:
            self.best_ckpt_path = path
        else:
            self.best_ckpt_path_dict[key] = path

    def _save_best(self, runner: Any, key: str, score: Any, best_name: str, meta: dict) -> bool:
        """Save a best checkpoint carrying its new score and path in the hub; the previous
        best file goes once the new one is committed. A failure restores the hub and the
        best path (False when the write failed and was tolerated)."""
        self._sync()
        hub = runner.message_hub
        single = len(self.key_indicators) == 1
        keys = ('best_score', 'best_ckpt') if single else (f'best_score_{key}',
                                                          f'best_ckpt_{key}')
        before = [(name, hub.get_info(name)) for name in keys]
        previous = self._best_path(key)
        best_path = self.file_backend.join_path(self.out_dir, best_name)
        hub.update_info(keys[0], score)
        hub.update_info(keys[1], best_path)
        self._set_best_path(key, best_path)

        def rollback() -> None:
            for name, value in before:
                hub.update_info(name, value)
            self._set_best_path(key, previous)

        def committed() -> None:
            self._record(runner, best_path, 'best', meta)
            if previous and previous != best_path:
                self._remove(previous)
                runner.logger.info(f'The previous best checkpoint {previous} is removed')

        return self._try_save(runner, best_name, committed, rollback, save_optimizer=False,
                              save_param_scheduler=False, meta=meta, by_epoch=False)

    def _publish_model(self, runner: Any, ckpt_path: str) -> None:
        """Write ``<name>-<sha256[:8]>.pth`` holding only ``published_keys``."""
        raw = io.BytesIO(self.file_backend.get(ckpt_path))
        checkpoint = torch.load(raw, map_location='cpu', weights_only=True)
        removed = [key for key in checkpoint if key not in self.published_keys]
        for key in removed:
            checkpoint.pop(key)
        if removed:
            runner.logger.info(f'Keys {removed} are removed from the published checkpoint '
                               'because they are not in `published_keys`.')
        buffer = io.BytesIO()
        torch.save(checkpoint, buffer)
        data = buffer.getvalue()
        digest = hashlib.sha256(data).hexdigest()[:8]
        final_path = f'{osp.splitext(ckpt_path)[0]}-{digest}.pth'
        self.file_backend.put(data, final_path)
        runner.logger.info(f'The checkpoint ({ckpt_path}) is published to {final_path}.')
