"""The seed's metrics (sections 0/1 and 4) and a recording metric, shared by the tests."""
from __future__ import annotations

from typing import List, Sequence

import numpy as np

from mmengine.evaluator import BaseMetric
from mmengine.registry import METRICS


class Accuracy(BaseMetric):
    """Seed section 1: the model's predict mode returns ``(scores, labels)``."""

    def __init__(self):
        super().__init__()

    def process(self, data_batch, data_samples):
        score, gt = data_samples
        self.results.append({
            'batch_size': len(gt),
            'correct': (score.argmax(dim=1) == gt).sum().cpu(),
        })

    def compute_metrics(self, results):
        total_correct = sum(r['correct'] for r in results)
        total_size = sum(r['batch_size'] for r in results)
        return dict(accuracy=100 * total_correct / total_size)


class SimpleAccuracy(BaseMetric):
    """Seed section 4.1.3: outputs are a dict with ``pred_label`` and the ground truth."""

    default_prefix = 'ACC'

    def process(self, data_batch: Sequence[dict], data_samples: Sequence[dict]):
        result = {
            'pred': data_samples['pred_label'],
            'gt': data_samples['data_sample']['gt_label']
        }
        self.results.append(result)

    def compute_metrics(self, results: List):
        preds = np.concatenate([res['pred'] for res in results])
        gts = np.concatenate([res['gt'] for res in results])
        acc = (preds == gts).sum() / preds.size
        return {'accuracy': acc}


class RecordingMetric(BaseMetric):
    """Stores one result per sample and reports them, so tests can see order and count."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.batches = []
        self.computed = 0

    def process(self, data_batch, data_samples):
        self.batches.append((data_batch, data_samples))
        self.results.extend(data_samples)

    def compute_metrics(self, results):
        self.computed += 1
        return {'seen': list(results), 'count': len(results)}


def register_test_metrics() -> None:
    """Register the metrics above by name (the root test fixture undoes it after each test,
    so these generic names never clash with the examples' own ``Accuracy``)."""
    for metric in (Accuracy, SimpleAccuracy, RecordingMetric):
        METRICS.register_module(module=metric, force=True)
