"""Custom hooks (tutorial section 7.5) in the rings runner.

    python examples/custom_hook/train.py [--max-epochs N] [--work-dir DIR]

``CheckInvalidLossHook`` checks every ``interval`` iterations that the loss is finite (the
tutorial's hook); ``BestAccuracyHook`` remembers the best validation accuracy and the epoch it
was reached in, using the metrics passed to ``after_val_epoch``. Both are registered in
``HOOKS`` and enabled through ``custom_hooks``, so they work from config files too.
"""
import argparse
import os.path as osp
import sys

import torch

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', 'rings'))

import rings_components  # noqa: E402,F401  (registers MyAwesomeModel, MyDataset, Accuracy)

from mmengine.hooks import Hook  # noqa: E402
from mmengine.registry import HOOKS  # noqa: E402
from mmengine.runner import Runner  # noqa: E402


@HOOKS.register_module()
class CheckInvalidLossHook(Hook):
    """Stop training with an error when the loss becomes infinite or NaN.

    Args:
        interval: Check every ``interval`` training iterations (the check synchronizes with
            the device, so it is not done every iteration).
    """

    def __init__(self, interval=50):
        self.interval = interval

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if self.every_n_train_iters(runner, self.interval):
            if not torch.isfinite(outputs['loss']):
                raise RuntimeError(f'The loss became {outputs["loss"].item()} at iteration '
                                   f'{runner.iter + 1}; lower the learning rate or check the '
                                   f'data.')


@HOOKS.register_module()
class BestAccuracyHook(Hook):
    """Log the best validation accuracy seen so far."""

    priority = 'LOW'  # after the LoggerHook (BELOW_NORMAL) has logged the epoch's metrics

    def __init__(self):
        self.best = None

    def after_val_epoch(self, runner, metrics=None):
        accuracy = float(metrics['accuracy'])
        if self.best is None or accuracy > self.best[0]:
            self.best = (accuracy, runner.epoch)
        runner.logger.info(f'best accuracy so far: {self.best[0]:.2f} '
                           f'(epoch {self.best[1]})')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--max-epochs', type=int, default=4)
    parser.add_argument('--train-size', type=int, default=10000)
    parser.add_argument('--work-dir', default='work_dirs/custom_hook')
    args = parser.parse_args()
    loader = dict(sampler=dict(type='DefaultSampler', shuffle=True),
                  collate_fn=dict(type='default_collate'), batch_size=64)
    runner = Runner(
        model=dict(type='MyAwesomeModel', layers=2),
        work_dir=args.work_dir,
        train_dataloader=dict(loader, dataset=dict(type='MyDataset', is_train=True,
                                                   size=args.train_size)),
        train_cfg=dict(by_epoch=True, max_epochs=args.max_epochs),
        optim_wrapper=dict(optimizer=dict(type='Adam', lr=0.001)),
        val_dataloader=dict(loader, dataset=dict(type='MyDataset', is_train=False, size=1000),
                            batch_size=1000),
        val_cfg=dict(),
        val_evaluator=dict(type='Accuracy'),
        custom_hooks=[dict(type='CheckInvalidLossHook', interval=50),
                      dict(type='BestAccuracyHook')],
        randomness=dict(seed=0),
    )
    runner.train()


if __name__ == '__main__':
    main()
