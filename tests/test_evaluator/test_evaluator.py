"""Evaluator and BaseMetric on one process: online, offline, prefixes, merging."""
from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from mmengine.evaluator import BaseMetric, DumpResults, Evaluator, get_metric_value
from mmengine.registry import EVALUATOR, METRICS
from mmengine.structures import BaseDataElement

from ._metrics import Accuracy, RecordingMetric, SimpleAccuracy


def _scores_and_labels(n=10, classes=3):
    labels = torch.arange(n) % classes
    scores = torch.nn.functional.one_hot(labels, classes).float()
    scores[:3] = scores[:3].roll(1, dims=1)  # the first 3 predictions are wrong
    return scores, labels


def test_tutorial_accuracy_online_and_offline():
    scores, labels = _scores_and_labels()
    evaluator = Evaluator(dict(type='Accuracy'))
    assert isinstance(evaluator.metrics[0], Accuracy)
    for start in range(0, 10, 4):  # the val loop: one process() call per batch
        batch = scores[start:start + 4], labels[start:start + 4]
        evaluator.process(data_samples=batch, data_batch=None)
    metrics = evaluator.evaluate(10)
    assert metrics == {'accuracy': pytest.approx(70.0)}
    # offline: the saved output of the model, (scores, labels), processed as one chunk
    assert evaluator.offline_evaluate([scores, labels], chunk_size=2) == metrics


def test_tutorial_simple_accuracy_online_and_offline():
    preds = np.array([0, 1, 2, 0, 1, 2, 0, 0])
    gts = np.array([0, 1, 2, 0, 1, 2, 1, 1])
    evaluator = Evaluator([dict(type='SimpleAccuracy')])
    for start in range(0, 8, 3):
        outputs = dict(pred_label=preds[start:start + 3],
                       data_sample=dict(gt_label=gts[start:start + 3]))
        evaluator.process(outputs, data_batch=None)
    metrics = evaluator.evaluate(8)
    assert metrics == {'ACC/accuracy': pytest.approx(0.75)}
    saved = dict(pred_label=preds, data_sample=dict(gt_label=gts))  # columns, chunked by rows
    assert evaluator.offline_evaluate(saved, chunk_size=3) == metrics
    prefixed = Evaluator(SimpleAccuracy(prefix='val'))
    assert list(prefixed.offline_evaluate(saved, chunk_size=8)) == ['val/accuracy']


def test_process_converts_data_elements_once_for_all_metrics():
    first, second = RecordingMetric(prefix='a'), RecordingMetric(prefix='b')
    evaluator = Evaluator([first, second])
    samples = [BaseDataElement(pred=1, metainfo=dict(img_id=0)), dict(pred=2)]
    evaluator.process(samples, data_batch='batch')
    converted = first.batches[0][1]
    assert converted[0] == {'pred': 1, 'img_id': 0} and converted[1] == {'pred': 2}
    assert second.batches[0][1] is converted and first.batches[0][0] == 'batch'
    metrics = evaluator.evaluate(2)
    assert metrics['a/count'] == metrics['b/count'] == 2
    assert first.results == [] and second.results == []  # cleared after evaluate


def test_evaluate_truncates_to_size_and_warns_when_empty():
    metric = RecordingMetric()
    metric.process(None, [1, 2, 3, 1])  # the last one is sampler padding
    assert metric.evaluate(3) == {'seen': [1, 2, 3], 'count': 3}
    with pytest.warns(UserWarning, match='RecordingMetric got no results'):
        assert metric.evaluate(3)['count'] == 0


def test_duplicate_metric_names_raise():
    evaluator = Evaluator([RecordingMetric(prefix='same'), RecordingMetric(prefix='same')])
    evaluator.process([1])
    with pytest.raises(ValueError, match="same/count"):
        evaluator.evaluate(1)


def test_offline_evaluate_in_chunks_with_data():
    metric = RecordingMetric()
    evaluator = Evaluator(metric)
    metrics = evaluator.offline_evaluate(list('abcde'), data=[0, 1, 2, 3, 4], chunk_size=2)
    assert metrics == {'seen': list('abcde'), 'count': 5}
    assert metric.batches == [([0, 1], ['a', 'b']), ([2, 3], ['c', 'd']), ([4], ['e'])]
    with pytest.raises(ValueError, match='match one to one'):
        evaluator.offline_evaluate([1, 2], data=[1])
    with pytest.raises(ValueError, match='chunk_size'):
        evaluator.offline_evaluate([1, 2], chunk_size=0)


def test_dataset_meta_is_passed_down():
    metrics = [RecordingMetric(), RecordingMetric()]
    evaluator = Evaluator(metrics)
    evaluator.dataset_meta = dict(classes=('a', 'b'))
    assert evaluator.dataset_meta == dict(classes=('a', 'b'))
    assert all(m.dataset_meta == dict(classes=('a', 'b')) for m in metrics)


def test_metric_arguments_and_registration():
    with pytest.raises(ValueError, match='collect_dir'):
        RecordingMetric(collect_device='gpu', collect_dir='x')
    with pytest.raises(TypeError, match='BaseMetric'):
        Evaluator([object()])
    with pytest.raises(TypeError):
        BaseMetric()  # abstract
    assert EVALUATOR.get('Evaluator') is Evaluator
    built = EVALUATOR.build(dict(type='Evaluator', metrics=dict(type='RecordingMetric')))
    assert isinstance(built.metrics[0], RecordingMetric)
    assert METRICS.get('DumpResults') is DumpResults


def test_dump_results(tmp_path):
    path = str(tmp_path / 'preds.pkl')
    evaluator = Evaluator(DumpResults(out_file_path=path))
    evaluator.process([BaseDataElement(score=torch.tensor([0.5])), dict(label=1)])
    assert evaluator.evaluate(2) == {}
    with open(path, 'rb') as f:
        dumped = pickle.load(f)
    assert torch.equal(dumped[0]['score'], torch.tensor([0.5])) and dumped[1] == dict(label=1)
    with pytest.raises(ValueError, match='.pkl'):
        DumpResults(out_file_path='preds.json')


def test_get_metric_value():
    metrics = {'ACC/accuracy': 0.9, 'a/top1': 1, 'b/top1': 2, 'loss': 0.5}
    assert get_metric_value('accuracy', metrics) == 0.9
    assert get_metric_value('ACC/accuracy', metrics) == 0.9
    assert get_metric_value('loss', metrics) == 0.5
    with pytest.raises(ValueError, match='ambiguous'):
        get_metric_value('top1', metrics)
    with pytest.raises(ValueError, match='matches no metric'):
        get_metric_value('ACC/recall', metrics)
    with pytest.raises(ValueError, match='matches no metric'):
        get_metric_value('recall', metrics)
