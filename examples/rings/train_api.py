"""Train the tutorial's rings classifier with the Python API (tutorial section 1.2.1).

    python examples/rings/train_api.py [--work-dir DIR] [--max-epochs N] [--train-size N]

The same job as ``train.py``, but the Runner is given built objects (model, dataloaders,
metric) instead of a config file. The model, dataset and metric are the tutorial's, shared
with the config-file form through ``rings_components.py``.
"""
import argparse
import os.path as osp
import sys

from torch.optim import Adam
from torch.utils.data import DataLoader, default_collate

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

from rings_components import Accuracy, MyAwesomeModel, MyDataset  # noqa: E402

from mmengine.runner import Runner  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--work-dir', default='exp/my_awesome_model')
    parser.add_argument('--max-epochs', type=int, default=10)
    parser.add_argument('--train-size', type=int, default=10000)
    parser.add_argument('--num-workers', type=int, default=2)
    args = parser.parse_args()

    runner = Runner(
        model=MyAwesomeModel(layers=2, activation='relu'),
        work_dir=args.work_dir,
        train_dataloader=DataLoader(
            dataset=MyDataset(is_train=True, size=args.train_size),
            shuffle=True,
            collate_fn=default_collate,
            batch_size=64,
            pin_memory=True,
            num_workers=args.num_workers),
        train_cfg=dict(by_epoch=True, max_epochs=args.max_epochs, val_begin=2,
                       val_interval=1),
        optim_wrapper=dict(optimizer=dict(type=Adam, lr=0.001)),
        param_scheduler=dict(type='MultiStepLR', by_epoch=True, milestones=[4, 8], gamma=0.1),
        val_dataloader=DataLoader(
            dataset=MyDataset(is_train=False, size=1000),
            shuffle=False,
            collate_fn=default_collate,
            batch_size=1000,
            pin_memory=True,
            num_workers=args.num_workers),
        val_cfg=dict(),
        val_evaluator=dict(type=Accuracy),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1)),
        launcher='none',
        env_cfg=dict(cudnn_benchmark=False, backend='nccl',
                     mp_cfg=dict(mp_start_method='fork')),
        log_level='INFO',
        load_from=None,
        resume=False)
    runner.train()


if __name__ == '__main__':
    main()
