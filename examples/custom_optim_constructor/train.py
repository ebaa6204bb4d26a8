"""A custom optimizer wrapper constructor: a larger learning rate for the classifier head.

    python examples/custom_optim_constructor/train.py [--max-epochs N] [--work-dir DIR]

An optimizer wrapper constructor turns the ``optim_wrapper`` config and the model into an
optimizer wrapper. Registering one in ``OPTIM_WRAPPER_CONSTRUCTORS`` and naming it with
``constructor=...`` gives full control over parameter groups; here the ``classifier`` head
gets ``head_lr_mult`` times the base learning rate (``paramwise_cfg`` carries the setting).
For per-name multipliers alone, the default constructor's ``paramwise_cfg=dict(custom_keys=...)``
is enough; a constructor is for rules it cannot express.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', 'rings'))

import rings_components  # noqa: E402,F401  (registers MyAwesomeModel, MyDataset, Accuracy)

from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS, OPTIM_WRAPPERS, OPTIMIZERS  # noqa: E402
from mmengine.runner import Runner  # noqa: E402


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class HeadLrConstructor:
    """Two parameter groups: the backbone at ``lr``, the head at ``lr * head_lr_mult``."""

    def __init__(self, optim_wrapper_cfg, paramwise_cfg=None):
        self.optim_wrapper_cfg = dict(optim_wrapper_cfg)
        self.head_lr_mult = (paramwise_cfg or {}).get('head_lr_mult', 10.0)

    def __call__(self, model):
        wrapper_cfg = dict(self.optim_wrapper_cfg)
        wrapper_cfg.setdefault('type', 'OptimWrapper')
        optimizer_cfg = dict(wrapper_cfg.pop('optimizer'))
        head = [p for name, p in model.named_parameters() if name.startswith('classifier.')]
        body = [p for name, p in model.named_parameters() if not name.startswith('classifier.')]
        optimizer_cfg['params'] = [
            dict(params=body),
            dict(params=head, lr=optimizer_cfg['lr'] * self.head_lr_mult)]
        optimizer = OPTIMIZERS.build(optimizer_cfg)
        return OPTIM_WRAPPERS.build(wrapper_cfg, default_args=dict(optimizer=optimizer))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--max-epochs', type=int, default=3)
    parser.add_argument('--train-size', type=int, default=10000)
    parser.add_argument('--work-dir', default='work_dirs/custom_optim_constructor')
    args = parser.parse_args()
    runner = Runner(
        model=dict(type='MyAwesomeModel', layers=2),
        work_dir=args.work_dir,
        train_dataloader=dict(
            dataset=dict(type='MyDataset', is_train=True, size=args.train_size),
            sampler=dict(type='DefaultSampler', shuffle=True),
            collate_fn=dict(type='default_collate'), batch_size=64),
        train_cfg=dict(by_epoch=True, max_epochs=args.max_epochs),
        optim_wrapper=dict(constructor='HeadLrConstructor',
                           optimizer=dict(type='SGD', lr=0.01, momentum=0.9),
                           paramwise_cfg=dict(head_lr_mult=5.0)),
        param_scheduler=dict(type='MultiStepLR', by_epoch=True, milestones=[2], gamma=0.1),
        randomness=dict(seed=0),
    )
    runner.train()
    lrs = [group['lr'] for group in runner.optim_wrapper.param_groups]
    print(f'final learning rates (backbone, head): {lrs}')


if __name__ == '__main__':
    main()
