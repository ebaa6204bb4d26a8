"""Iteration-based training: InfiniteSampler, linear warmup + cosine, EMA and AMP.

    python examples/iter_based/train.py [--max-iters N] [--val-interval N] [--work-dir DIR]

Trains the rings classifier for a number of iterations rather than epochs:

* the training dataloader uses ``InfiniteSampler`` (no epoch boundary to wait for);
* the learning rate warms up linearly and then follows a cosine curve; both schedulers are
  written in epochs and converted to per-iteration updates with ``convert_to_iter_based``;
* ``EMAHook`` keeps an exponential moving average of the weights, which is what validation
  evaluates and what checkpoints hold under ``ema_state_dict``;
* ``AmpOptimWrapper`` runs the forward pass under autocast: float16 on CUDA, bfloat16 on CPU.
"""
import argparse
import os.path as osp
import sys

import torch

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', 'rings'))

import rings_components  # noqa: E402,F401  (registers MyAwesomeModel, MyDataset, Accuracy)

from mmengine.runner import Runner  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--max-iters', type=int, default=1500)
    parser.add_argument('--val-interval', type=int, default=500)
    parser.add_argument('--train-size', type=int, default=10000)
    parser.add_argument('--log-interval', type=int, default=50)
    parser.add_argument('--work-dir', default='work_dirs/iter_based')
    args = parser.parse_args()
    batch_size = 64
    epoch_length = -(-args.train_size // batch_size)  # iterations per pass over the data

    runner = Runner(
        model=dict(type='MyAwesomeModel', layers=2),
        work_dir=args.work_dir,
        train_dataloader=dict(
            dataset=dict(type='MyDataset', is_train=True, size=args.train_size),
            sampler=dict(type='InfiniteSampler', shuffle=True),
            collate_fn=dict(type='default_collate'),
            batch_size=batch_size),
        train_cfg=dict(by_epoch=False, max_iters=args.max_iters,
                       val_interval=args.val_interval),
        optim_wrapper=dict(
            type='AmpOptimWrapper',
            dtype='float16' if torch.cuda.is_available() else 'bfloat16',
            optimizer=dict(type='AdamW', lr=3e-3, weight_decay=1e-4)),
        param_scheduler=[
            # Written in epochs, applied every iteration.
            dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
                 convert_to_iter_based=True),
            dict(type='CosineAnnealingLR', by_epoch=True, begin=1,
                 T_max=max(args.max_iters // epoch_length - 1, 1), eta_min=1e-5,
                 convert_to_iter_based=True),
        ],
        val_dataloader=dict(
            dataset=dict(type='MyDataset', is_train=False, size=1000),
            sampler=dict(type='DefaultSampler', shuffle=False),
            collate_fn=dict(type='default_collate'),
            batch_size=1000),
        val_cfg=dict(),
        val_evaluator=dict(type='Accuracy'),
        custom_hooks=[dict(type='EMAHook', momentum=0.01)],
        # Log lines and scalars counted in iterations: `Iter(train) [50/1500]`.
        log_processor=dict(by_epoch=False),
        default_hooks=dict(
            logger=dict(type='LoggerHook', interval=args.log_interval),
            checkpoint=dict(type='CheckpointHook', by_epoch=False,
                            interval=args.val_interval)),
        randomness=dict(seed=0),
    )
    runner.train()


if __name__ == '__main__':
    main()
