"""Train the tutorial's rings classifier from its config file (tutorial section 1.3).

    python examples/rings/train.py [--work-dir DIR] [--max-epochs N] [--train-size N] [--seed N] [--resume]

No download is needed: the dataset is generated. Checkpoints and logs land in the work_dir
(``exp/my_awesome_model`` by default, relative to the current directory).
"""
import argparse
import os.path as osp
import sys

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, HERE)  # so that custom_imports finds rings_components

from mmengine.config import Config  # noqa: E402
from mmengine.runner import Runner  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--work-dir', help='where checkpoints and logs are written')
    parser.add_argument('--max-epochs', type=int, help='override train_cfg.max_epochs')
    parser.add_argument('--train-size', type=int,
                        help='override the training set size (default 10000)')
    parser.add_argument('--num-workers', type=int, help='override the loaders\' num_workers')
    parser.add_argument('--resume', action='store_true', help='resume from the latest checkpoint')
    parser.add_argument('--seed', type=int,
                        help='seed every random generator (default: a fresh seed per run)')
    args = parser.parse_args()
    config = Config.fromfile(osp.join(HERE, 'example_config.py'))
    if args.work_dir:
        config.work_dir = args.work_dir
    if args.max_epochs:
        config.train_cfg.max_epochs = args.max_epochs
    if args.train_size:
        config.train_dataloader.dataset.size = args.train_size
    if args.num_workers is not None:
        config.train_dataloader.num_workers = args.num_workers
        config.val_dataloader.num_workers = args.num_workers
    if args.resume:
        config.resume = True
    if args.seed is not None:
        config.randomness = dict(seed=args.seed)
    runner = Runner.from_cfg(config)
    runner.train()


if __name__ == '__main__':
    main()
