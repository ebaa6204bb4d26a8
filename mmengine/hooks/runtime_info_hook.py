"""RuntimeInfoHook: publish the run's progress, lr, losses and metrics to the MessageHub."""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from mmengine.registry import HOOKS

from .hook import DATA_BATCH, Hook


def _is_scalar(value: Any) -> bool:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return True
    if isinstance(value, np.ndarray):
        return value.size == 1
    if isinstance(value, np.number):
        return True
    return isinstance(value, torch.Tensor) and value.numel() == 1


def publish_scalar(hub: Any, key: str, value: Any) -> None:
    """``hub.update_scalar(key, value)`` for a value known to pass its checks: a number the
    engine produced, or a one-element tensor.

    Once ``key`` is registered as resumed (by a first ``update_scalar``), the value is
    appended to its buffer directly, skipping the per-call work of the MessageHub; this runs
    several times per training iteration, so the hub's dicts are read without the properties.
    """
    buffer = hub._log_scalars.get(key)
    if buffer is None or hub._resumed_keys.get(key) is not True:
        hub.update_scalar(key, value)
    else:
        buffer.update(value)


@HOOKS.register_module()
class RuntimeInfoHook(Hook):
    """Keep the MessageHub up to date so that modules without the runner can read the state.

    Info keys: ``cfg``, ``seed``, ``experiment_name``, ``mmengine_version`` (at run start),
    ``epoch``, ``iter``, ``max_epochs``, ``max_iters``, ``dataset_meta``, ``loop_stage``.
    Scalars: ``train/<lr name>`` before each train iteration (from
    ``optim_wrapper.get_lr()``), ``train/<output key>`` after it (loss tensors on an
    accelerator are stored as they are: no host-device synchronization), ``val/<metric>`` /
    ``test/<metric>`` after evaluation (non-scalar metrics become info).
    """

    priority = 'VERY_HIGH'

    def before_run(self, runner: Any) -> None:
        """Publish the experiment's identity."""
        from mmengine.version import __version__
        cfg = getattr(runner, 'cfg', None)
        hub = runner.message_hub
        hub.update_info('cfg', getattr(cfg, 'pretty_text', None) if cfg is not None else None)
        hub.update_info('seed', runner.seed)
        hub.update_info('experiment_name', runner.experiment_name)
        hub.update_info('mmengine_version', __version__)

    def before_train(self, runner: Any) -> None:
        """Publish the loop's extent and the dataset's meta information."""
        self._training = True
        hub = runner.message_hub
        hub.update_info('loop_stage', 'train')
        hub.update_info('epoch', runner.epoch)
        hub.update_info('iter', runner.iter)
        hub.update_info('max_epochs', runner.max_epochs)
        hub.update_info('max_iters', runner.max_iters)
        dataset = getattr(runner.train_dataloader, 'dataset', None)
        metainfo = getattr(dataset, 'metainfo', None)
        if metainfo is not None:
            hub.update_info('dataset_meta', metainfo)

    def after_train(self, runner: Any) -> None:
        """Leave the train stage."""
        self._training = False
        runner.message_hub.pop_info('loop_stage')

    def before_train_epoch(self, runner: Any) -> None:
        """Publish the epoch."""
        runner.message_hub.update_info('epoch', runner.epoch)

    def before_train_iter(self, runner: Any, batch_idx: int,
                          data_batch: DATA_BATCH = None) -> None:
        """Publish the iteration and the current learning rates (first group of each)."""
        hub = runner.message_hub
        hub.update_info('iter', runner.iter)
        for name, values in runner.optim_wrapper.get_lr().items():
            publish_scalar(hub, f'train/{name}', values[0])

    def after_train_iter(self, runner: Any, batch_idx: int, data_batch: DATA_BATCH = None,
                         outputs: dict | None = None) -> None:
        """Store the step's outputs (loss tensors) as ``train/<key>`` scalars."""
        if outputs is None:
            return
        hub = runner.message_hub
        for name, value in outputs.items():
            # The values come from the model: a one-element tensor (the usual loss) passes
            # update_scalar's checks; anything else is checked by it.
            if type(value) is torch.Tensor and value.numel() == 1:
                publish_scalar(hub, f'train/{name}', value)
            else:
                hub.update_scalar(f'train/{name}', value)

    def before_val(self, runner: Any) -> None:
        """Enter the val stage."""
        runner.message_hub.update_info('loop_stage', 'val')

    def after_val_epoch(self, runner: Any, metrics: dict[str, float] | None = None) -> None:
        """Store the validation metrics as ``val/<metric>``."""
        self._publish_metrics(runner, metrics, 'val')

    def after_val(self, runner: Any) -> None:
        """Return to the train stage when validating during training."""
        self._leave_eval_stage(runner)

    def before_test(self, runner: Any) -> None:
        """Enter the test stage."""
        runner.message_hub.update_info('loop_stage', 'test')

    def after_test_epoch(self, runner: Any, metrics: dict[str, float] | None = None) -> None:
        """Store the test metrics as ``test/<metric>``."""
        self._publish_metrics(runner, metrics, 'test')

    def after_test(self, runner: Any) -> None:
        """Leave the test stage."""
        self._leave_eval_stage(runner)

    @staticmethod
    def _publish_metrics(runner: Any, metrics: dict | None, mode: str) -> None:
        hub = runner.message_hub
        for key, value in (metrics or {}).items():
            if _is_scalar(value):
                hub.update_scalar(f'{mode}/{key}', value)
            else:
                hub.update_info(f'{mode}/{key}', value)

    def _leave_eval_stage(self, runner: Any) -> None:
        # Validation inside train() returns to the train stage; standalone val()/test() not.
        if getattr(self, '_training', False):
            runner.message_hub.update_info('loop_stage', 'train')
        else:
            runner.message_hub.pop_info('loop_stage')
