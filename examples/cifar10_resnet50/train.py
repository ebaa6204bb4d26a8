"""The 15-minute tutorial: ResNet-50 on CIFAR-10 (tutorial section 0), needs torchvision.

    python examples/cifar10_resnet50/train.py                 # downloads CIFAR-10 to data/
    python examples/cifar10_resnet50/train.py --fake-data --max-epochs 1 --num-samples 64

``--fake-data`` replaces CIFAR-10 by random images of the same shape (3x32x32, 10 classes)
for machines without the dataset; the accuracy is then meaningless, the program flow is not.
"""
import argparse

import torch.nn.functional as F
import torchvision
import torchvision.transforms as transforms
from torch.optim import SGD
from torch.utils.data import DataLoader, Subset

from mmengine.evaluator import BaseMetric
from mmengine.model import BaseModel
from mmengine.runner import Runner

NORM_CFG = dict(mean=[0.491, 0.482, 0.447], std=[0.202, 0.199, 0.201])


class MMResNet50(BaseModel):
    def __init__(self):
        super().__init__()
        self.resnet = torchvision.models.resnet50()

    def forward(self, imgs, labels, mode):
        x = self.resnet(imgs)
        if mode == 'loss':
            return {'loss': F.cross_entropy(x, labels)}
        elif mode == 'predict':
            return x, labels


class Accuracy(BaseMetric):
    def process(self, data_batch, data_samples):
        score, gt = data_samples
        self.results.append({
            'batch_size': len(gt),
            'correct': (score.argmax(dim=1) == gt).sum().cpu(),
        })

    def compute_metrics(self, results):
        total_correct = sum(item['correct'] for item in results)
        total_size = sum(item['batch_size'] for item in results)
        return dict(accuracy=100 * total_correct / total_size)


def build_dataset(train: bool, args: argparse.Namespace):
    augment = [transforms.RandomCrop(32, padding=4),
               transforms.RandomHorizontalFlip()] if train else []
    transform = transforms.Compose(
        [*augment, transforms.ToTensor(), transforms.Normalize(**NORM_CFG)])
    if args.fake_data:
        size = args.num_samples or (50000 if train else 10000)
        return torchvision.datasets.FakeData(size=size, image_size=(3, 32, 32),
                                             num_classes=10, transform=transform,
                                             random_offset=0 if train else size)
    dataset = torchvision.datasets.CIFAR10(args.data_root, train=train, download=True,
                                           transform=transform)
    if args.num_samples:
        dataset = Subset(dataset, range(args.num_samples))
    return dataset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--fake-data', action='store_true',
                        help='random images of CIFAR-10 shape instead of the dataset')
    parser.add_argument('--data-root', default='data/cifar10')
    parser.add_argument('--num-samples', type=int, help='use only this many samples per split')
    parser.add_argument('--batch-size', type=int, default=32)
    parser.add_argument('--max-epochs', type=int, default=5)
    parser.add_argument('--work-dir', default='./work_dir')
    args = parser.parse_args()

    train_dataloader = DataLoader(batch_size=args.batch_size, shuffle=True,
                                  dataset=build_dataset(True, args))
    val_dataloader = DataLoader(batch_size=args.batch_size, shuffle=False,
                                dataset=build_dataset(False, args))
    runner = Runner(
        model=MMResNet50(),
        work_dir=args.work_dir,
        train_dataloader=train_dataloader,
        optim_wrapper=dict(optimizer=dict(type=SGD, lr=0.001, momentum=0.9)),
        train_cfg=dict(by_epoch=True, max_epochs=args.max_epochs, val_interval=1),
        val_dataloader=val_dataloader,
        val_cfg=dict(),
        val_evaluator=dict(type=Accuracy),
    )
    runner.train()


if __name__ == '__main__':
    main()
