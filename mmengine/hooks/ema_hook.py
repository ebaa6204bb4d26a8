"""EMAHook: keep an averaged copy of the model and evaluate with it."""
from __future__ import annotations

import copy
import itertools
from typing import Any

from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS, MODELS

from .hook import DATA_BATCH, Hook


def _is_resuming(runner: Any) -> bool:
    # compat: MMEngine's runner exposes whether it resumes only as ``_resume``.
    return bool(getattr(runner, '_resume', False))


def _swap_state_dict(checkpoint: dict) -> None:
    """Exchange ``state_dict`` entries with the averaged ones (``ema_state_dict['module.*']``)."""
    model_state = checkpoint['state_dict']
    ema_state = checkpoint['ema_state_dict']
    for key in ema_state:
        if key.startswith('module.') and key[7:] in model_state:
            ema_state[key], model_state[key[7:]] = model_state[key[7:]], ema_state[key]


@HOOKS.register_module()
class EMAHook(Hook):
    """Maintain an averaged model (EMA by default) and swap it in for validation and testing.

    The averaged model is built from ``MODELS`` (``ExponentialMovingAverage``,
    ``StochasticWeightAverage``, ``MomentumAnnealingEMA`` or any registered
    ``BaseAveragedModel``) and updated after every training iteration once ``begin_iter`` /
    ``begin_epoch`` is reached (before that it tracks the model exactly). Training itself is
    unaffected. Checkpoints hold ``ema_state_dict`` and, under ``state_dict``, the averaged
    weights (so the file deploys directly); resuming swaps them back.

    Args:
        ema_type: Registered averaged-model type. Defaults to ``'ExponentialMovingAverage'``.
        strict_load: Load the averaged state strictly. Defaults to False.
        begin_iter: Iteration from which averaging starts.
        begin_epoch: Epoch from which averaging starts (exclusive with ``begin_iter``).
        **kwargs: Arguments of the averaged model (``momentum``, ``interval``,
            ``update_buffers``...).
    """

    priority = 'NORMAL'

    def __init__(self, ema_type: str = 'ExponentialMovingAverage', strict_load: bool = False,
                 begin_iter: int = 0, begin_epoch: int = 0, **kwargs: Any) -> None:
        if begin_iter < 0 or begin_epoch < 0:
            raise ValueError(f'`begin_iter` and `begin_epoch` must be >= 0, got {begin_iter} '
                             f'and {begin_epoch}.')
        if begin_iter and begin_epoch:
            raise ValueError('Set only one of `begin_iter` and `begin_epoch`.')
        self.strict_load = strict_load
        self.ema_cfg = dict(type=ema_type, **kwargs)
        self.begin_iter = begin_iter
        self.begin_epoch = begin_epoch
        self.enabled_by_epoch = begin_epoch > 0

    def before_run(self, runner: Any) -> None:
        """Build the averaged model from the (unwrapped) runner model."""
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        self.src_model = model
        self.ema_model = MODELS.build(self.ema_cfg, default_args=dict(model=model))

    def before_train(self, runner: Any) -> None:
        """Check that averaging begins within the training length."""
        if self.enabled_by_epoch and self.begin_epoch > runner.max_epochs:
            raise ValueError(f'EMAHook: begin_epoch={self.begin_epoch} is beyond max_epochs='
                             f'{runner.max_epochs}; averaging would never start.')
        if not self.enabled_by_epoch and self.begin_iter > runner.max_iters:
            raise ValueError(f'EMAHook: begin_iter={self.begin_iter} is beyond max_iters='
                             f'{runner.max_iters}; averaging would never start.')

    def _ema_started(self, runner: Any) -> bool:
        if self.enabled_by_epoch:
            return runner.epoch + 1 >= self.begin_epoch
        return runner.iter + 1 >= self.begin_iter

    def after_train_iter(self, runner: Any, batch_idx: int, data_batch: DATA_BATCH = None,
                         outputs: dict | None = None) -> None:
        """Update the averaged model (or copy the weights before averaging begins)."""
        if self._ema_started(runner):
            self.ema_model.update_parameters(self.src_model)
            return
        source = self.src_model.state_dict()
        for key, value in self.ema_model.module.state_dict().items():
            value.data.copy_(source[key].data)

    def _swap_ema_parameters(self) -> None:
        """Exchange the model's and the averaged model's weights in place."""
        ema, src = self.ema_model.module, self.src_model
        if self.ema_model.update_buffers:
            pairs = zip(itertools.chain(ema.parameters(), ema.buffers()),
                        itertools.chain(src.parameters(), src.buffers()))
        else:
            pairs = zip(ema.parameters(), src.parameters())
        for averaged, source in pairs:
            tmp = averaged.data.clone()
            averaged.data.copy_(source.data)
            source.data.copy_(tmp)

    def before_val_epoch(self, runner: Any) -> None:
        """Evaluate with the averaged weights."""
        self._swap_ema_parameters()

    def after_val_epoch(self, runner: Any, metrics: dict[str, float] | None = None) -> None:
        """Restore the training weights."""
        self._swap_ema_parameters()

    def before_test_epoch(self, runner: Any) -> None:
        """Test with the averaged weights."""
        self._swap_ema_parameters()

    def after_test_epoch(self, runner: Any, metrics: dict[str, float] | None = None) -> None:
        """Restore the training weights."""
        self._swap_ema_parameters()

    def before_save_checkpoint(self, runner: Any, checkpoint: dict) -> None:
        """Store ``ema_state_dict`` and put the averaged weights under ``state_dict``."""
        checkpoint['ema_state_dict'] = self.ema_model.state_dict()
        # The state dicts are shallow copies of the parameters: swap entries, not tensors.
        _swap_state_dict(checkpoint)

    def after_load_checkpoint(self, runner: Any, checkpoint: dict) -> None:
        """Restore the averaged model from a checkpoint.

        Resuming swaps ``state_dict`` back to the training weights (also reloading them into
        the model, whichever order the runner loads in) and restores ``ema_state_dict``.
        Loading weights only (``load_from``) or a checkpoint without ``ema_state_dict``
        starts the average from ``state_dict``.
        """
        from mmengine.runner.checkpoint import load_state_dict
        if 'ema_state_dict' in checkpoint and _is_resuming(runner):
            _swap_state_dict(checkpoint)
            self.ema_model.load_state_dict(checkpoint['ema_state_dict'],
                                           strict=self.strict_load)
            load_state_dict(self.src_model, checkpoint['state_dict'], strict=self.strict_load)
            return
        if _is_resuming(runner):
            runner.logger.warning('The checkpoint has no `ema_state_dict`; EMAHook starts the '
                                  'average from its `state_dict`.')
        load_state_dict(self.ema_model.module, copy.deepcopy(checkpoint['state_dict']),
                        strict=self.strict_load)
