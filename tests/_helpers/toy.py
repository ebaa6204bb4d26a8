"""Small deterministic models, datasets and metrics shared by runner-level tests."""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import Dataset

from mmengine.evaluator import BaseMetric
from mmengine.model import BaseModel


class RingsModel(BaseModel):
    """The tutorial's MyAwesomeModel (section 1.2.1)."""

    def __init__(self, layers: int = 2, activation: str = 'relu') -> None:
        super().__init__()
        act = {'relu': nn.ReLU, 'silu': nn.SiLU, 'none': nn.Identity}[activation]
        seq = [nn.Linear(2, 64), act()]
        for _ in range(layers - 1):
            seq.extend([nn.Linear(64, 64), act()])
        self.mlp = nn.Sequential(*seq)
        self.classifier = nn.Linear(64, 2)

    def forward(self, data, labels, mode):
        x = self.classifier(self.mlp(data))
        if mode == 'tensor':
            return x
        if mode == 'predict':
            return F.softmax(x, dim=1), labels
        return {'loss': F.cross_entropy(x, labels)}


class RingsDataset(Dataset):
    """The tutorial's MyDataset: two noisy rings."""

    def __init__(self, is_train: bool, size: int) -> None:
        gen = torch.Generator().manual_seed(0 if is_train else 3407)
        self.labels = torch.randint(0, 2, (size,), generator=gen)
        r = 3 * (self.labels + 1) + torch.randn(self.labels.shape, generator=gen)
        theta = torch.rand(self.labels.shape, generator=gen) * 2 * torch.pi
        self.data = torch.vstack([r * torch.cos(theta), r * torch.sin(theta)]).T

    def __getitem__(self, index):
        return self.data[index], self.labels[index]

    def __len__(self):
        return len(self.data)


class RingsAccuracy(BaseMetric):
    """The tutorial's Accuracy metric."""

    def process(self, data_batch, data_samples):
        score, gt = data_samples
        self.results.append({'batch_size': len(gt),
                             'correct': (score.argmax(dim=1) == gt).sum().cpu()})

    def compute_metrics(self, results):
        total_correct = sum(r['correct'] for r in results)
        total_size = sum(r['batch_size'] for r in results)
        return dict(accuracy=100 * total_correct / total_size)
