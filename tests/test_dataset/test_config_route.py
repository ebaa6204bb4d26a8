"""Seed 2.3.1: register a dataset builder and transforms, then build everything from config."""
from __future__ import annotations

import pytest
import torch
from torch.utils.data import DataLoader, Dataset

from mmengine.dataset import DefaultSampler
from mmengine.dataset.base_dataset import Compose
from mmengine.registry import DATA_SAMPLERS, DATASETS, FUNCTIONS, TRANSFORMS


class _Scale:
    def __init__(self, factor):
        self.factor = factor

    def __call__(self, x):
        return x * self.factor


class _Squares(Dataset):
    def __init__(self, n, transform=None):
        self.n, self.transform = n, transform

    def __len__(self):
        return self.n

    def __getitem__(self, idx):
        x = torch.tensor([float(idx)])
        return (self.transform(x) if self.transform else x), idx


def _build_squares(transform=None, **kwargs):
    if isinstance(transform, dict):
        transform = [transform]
    if isinstance(transform, (list, tuple)):
        transform = Compose(transform)
    return _Squares(**kwargs, transform=transform)


def _loader(dataset_cfg, collate='default_collate'):
    dataset = DATASETS.build(dataset_cfg)
    sampler = DATA_SAMPLERS.build(dict(type='DefaultSampler', shuffle=False, seed=0),
                                  default_args=dict(dataset=dataset))
    collate_fn = FUNCTIONS.get(collate)
    return DataLoader(dataset, batch_size=4, sampler=sampler, collate_fn=collate_fn)


def test_registered_builder_and_transforms_from_config():
    DATASETS.register_module(name='SquaresForTest', module=_build_squares, force=True)
    TRANSFORMS.register_module('ScaleForTest', module=_Scale, force=True)
    loader = _loader(dict(type='SquaresForTest', n=6,
                          transform=[dict(type='ScaleForTest', factor=2),
                                     dict(type='ScaleForTest', factor=3)]))
    assert isinstance(loader.sampler, DefaultSampler)
    inputs, labels = next(iter(loader))
    assert torch.equal(inputs[:, 0], torch.tensor([0.0, 6.0, 12.0, 18.0]))
    assert torch.equal(labels, torch.tensor([0, 1, 2, 3]))
    assert sum(len(batch[1]) for batch in loader) == 6


def test_torchvision_route():
    tvt = pytest.importorskip('torchvision.transforms')
    datasets = pytest.importorskip('torchvision.datasets')

    def build_fake(transform=None, **kwargs):
        if isinstance(transform, (list, tuple)):
            transform = Compose(transform)
        return datasets.FakeData(**kwargs, transform=transform)

    DATASETS.register_module(name='FakeDataForTest', module=build_fake, force=True)
    TRANSFORMS.register_module('RandomCrop', module=tvt.RandomCrop, force=True)
    TRANSFORMS.register_module('RandomHorizontalFlip', module=tvt.RandomHorizontalFlip,
                               force=True)
    TRANSFORMS.register_module('ToTensor', module=tvt.ToTensor, force=True)
    TRANSFORMS.register_module('Normalize', module=tvt.Normalize, force=True)
    loader = _loader(dict(type='FakeDataForTest', size=8, image_size=(3, 32, 32),
                          num_classes=10,
                          transform=[dict(type='RandomCrop', size=32, padding=4),
                                     dict(type='RandomHorizontalFlip'),
                                     dict(type='ToTensor'),
                                     dict(type='Normalize', mean=[0.5] * 3, std=[0.5] * 3)]))
    images, labels = next(iter(loader))
    assert images.shape == (4, 3, 32, 32) and labels.shape == (4,)
