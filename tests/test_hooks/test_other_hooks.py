"""EMAHook, EarlyStoppingHook, ProfilerHook, NaiveVisualizationHook, PrepareTTAHook."""
from __future__ import annotations

import json
import math
import os
import os.path as osp

import numpy as np
import pytest
import torch
from torch import nn

from mmengine.hooks import (
    EarlyStoppingHook,
    EMAHook,
    NaiveVisualizationHook,
    NPUProfilerHook,
    PrepareTTAHook,
    ProfilerHook,
)
from mmengine.registry import MODELS

from .fake_runner import FakeRunner


def _ema_runner(tmp_path):
    torch.manual_seed(0)
    return FakeRunner(tmp_path, max_epochs=1, train_len=4, model=nn.Linear(2, 1))


def test_ema_updates_and_swaps(tmp_path):
    runner = _ema_runner(tmp_path)
    hook = EMAHook(momentum=0.5)
    hook.before_run(runner)
    hook.before_train(runner)
    original = runner.model.weight.detach().clone()
    hook.after_train_iter(runner, 0)  # the first update copies the weights
    with torch.no_grad():
        runner.model.weight.add_(2.0)
    hook.after_train_iter(runner, 1)
    trained = runner.model.weight.detach().clone()
    averaged = hook.ema_model.module.weight.detach().clone()
    # momentum 0.5: halfway between the previous average and the new weights
    assert torch.allclose(averaged, original + 1.0)
    hook.before_val_epoch(runner)
    assert torch.allclose(runner.model.weight, averaged)
    hook.after_val_epoch(runner, {})
    assert torch.allclose(runner.model.weight, trained)
    hook.before_test_epoch(runner)
    hook.after_test_epoch(runner)
    assert torch.allclose(runner.model.weight, trained)


def test_ema_checkpoint_round_trip(tmp_path):
    runner = _ema_runner(tmp_path)
    hook = EMAHook(momentum=0.5)
    hook.before_run(runner)
    hook.after_train_iter(runner, 0)
    with torch.no_grad():
        runner.model.weight.add_(2.0)
    hook.after_train_iter(runner, 1)
    trained = runner.model.weight.detach().clone()
    averaged = hook.ema_model.module.weight.detach().clone()
    checkpoint = {'state_dict': {k: v.clone() for k, v in runner.model.state_dict().items()}}
    hook.before_save_checkpoint(runner, checkpoint)
    # the deployable state_dict holds the averaged weights, ema_state_dict the trained ones
    assert torch.allclose(checkpoint['state_dict']['weight'], averaged)
    assert torch.allclose(checkpoint['ema_state_dict']['module.weight'], trained)

    resumed = _ema_runner(tmp_path)
    resumed._resume = True
    new_hook = EMAHook(momentum=0.5)
    new_hook.before_run(resumed)
    new_hook.after_load_checkpoint(resumed, checkpoint)
    assert torch.allclose(resumed.model.weight, trained)
    assert torch.allclose(new_hook.ema_model.module.weight, averaged)


def test_ema_begin_and_types(tmp_path):
    runner = _ema_runner(tmp_path)
    hook = EMAHook(ema_type='StochasticWeightAverage', begin_iter=3)
    hook.before_run(runner)
    assert type(hook.ema_model).__name__ == 'StochasticWeightAverage'
    with torch.no_grad():
        runner.model.weight.add_(1.0)
    hook.after_train_iter(runner, 0)  # before begin_iter: exact copy
    assert torch.allclose(hook.ema_model.module.weight, runner.model.weight)
    with pytest.raises(ValueError, match='only one'):
        EMAHook(begin_iter=1, begin_epoch=1)
    with pytest.raises(ValueError, match='max_epochs'):
        late = EMAHook(begin_epoch=5)
        late.before_run(runner)
        late.before_train(runner)


def _validate(hook, runner, scores, key='acc'):
    hook.before_run(runner)
    stopped_at = None
    for epoch, score in enumerate(scores):
        runner.epoch = epoch + 1
        hook.after_val_epoch(runner, {key: score})
        if runner.train_loop.stop_training:
            stopped_at = epoch
            break
    return stopped_at


def test_early_stopping_patience(tmp_path):
    runner = FakeRunner(tmp_path)
    hook = EarlyStoppingHook('acc', patience=2, min_delta=0.1)
    assert _validate(hook, runner, [0.5, 0.55, 0.58, 0.9]) == 2
    assert hook.best_score == 0.5
    assert 'did not improve' in runner.logger.messages[-1]


def test_early_stopping_less_rule_threshold_and_finite(tmp_path):
    runner = FakeRunner(tmp_path)
    hook = EarlyStoppingHook('loss', min_delta=0.01, patience=3)
    assert hook.rule == 'less'
    assert _validate(hook, runner, [1.0, 0.5, 0.4, 0.3], key='loss') is None
    runner = FakeRunner(tmp_path)
    hook = EarlyStoppingHook('loss', stopping_threshold=0.45)
    assert _validate(hook, runner, [1.0, 0.5, 0.4, 0.3], key='loss') == 2
    runner = FakeRunner(tmp_path)
    assert _validate(EarlyStoppingHook('mAP'), runner, [0.1, math.nan], key='mAP') == 1


def test_early_stopping_missing_metric(tmp_path):
    runner = FakeRunner(tmp_path)
    with pytest.warns(UserWarning, match='not among'):
        EarlyStoppingHook('acc').after_val_epoch(runner, {'other': 1})
    with pytest.raises(RuntimeError, match='strict'):
        EarlyStoppingHook('acc', strict=True).after_val_epoch(runner, {'other': 1})
    with pytest.raises(ValueError, match='Cannot infer'):
        EarlyStoppingHook('foo')


def _profile(runner, hook, iters=2):
    hook.before_run(runner)
    for idx in range(iters):
        runner.iter = idx
        torch.mm(torch.ones(8, 8), torch.ones(8, 8))
        hook.after_train_iter(runner, idx)
    hook.after_train_epoch(runner)


def test_profiler_writes_traces(tmp_path):
    runner = FakeRunner(tmp_path / 'work', by_epoch=False, max_iters=4)
    json_path = str(tmp_path / 'trace.json')
    hook = ProfilerHook(by_epoch=False, profile_times=2, on_trace_ready=dict(type='tb_trace'),
                        json_trace_path=json_path)
    _profile(runner, hook)
    trace_dir = osp.join(runner.log_dir, 'tf_tracing_logs')
    assert any(name.endswith('.pt.trace.json') for name in os.listdir(trace_dir))
    with open(json_path) as f:
        events = json.load(f)['traceEvents']
    assert any('mm' in str(event.get('name', '')) for event in events)


def test_profiler_log_trace_and_callable(tmp_path):
    runner = FakeRunner(tmp_path / 'work', max_epochs=1)
    _profile(runner, ProfilerHook(on_trace_ready=dict(type='log_trace', row_limit=5)))
    assert any('Self CPU' in message for message in runner.logger.messages)
    seen = []
    _profile(FakeRunner(tmp_path / 'w2', max_epochs=1), ProfilerHook(on_trace_ready=seen.append))
    assert len(seen) == 1


def test_profiler_argument_errors(tmp_path):
    with pytest.raises(ValueError, match='one epoch'):
        ProfilerHook(by_epoch=True, profile_times=2)
    with pytest.raises(ValueError, match='exceeds'):
        ProfilerHook(by_epoch=False, profile_times=50).before_run(FakeRunner(tmp_path))
    with pytest.raises(ImportError, match='torch_npu'):
        NPUProfilerHook()


def test_naive_visualization_hook(tmp_path):
    runner = FakeRunner(tmp_path, vis_backends=[dict(type='LocalVisBackend')])
    hook = NaiveVisualizationHook(interval=1)
    sample = type('Sample', (), {'img_path': '/data/cat.png', 'img_shape': (4, 5)})()
    batch = {'inputs': [torch.randint(0, 255, (3, 6, 6), dtype=torch.uint8)],
             'data_samples': [sample]}
    hook.after_test_iter(runner, 0, batch, [sample])
    image_dir = osp.join(runner.log_dir, 'vis_data', 'vis_image')
    assert os.listdir(image_dir) == ['cat.png_0.png']
    from PIL import Image
    assert np.asarray(Image.open(osp.join(image_dir, 'cat.png_0.png'))).shape == (4, 5, 3)


@MODELS.register_module(force=True)
class _DoubleTTA(nn.Module):
    def __init__(self, module):
        super().__init__()
        self.module = module


def test_prepare_tta_hook_wraps_model(tmp_path):
    runner = FakeRunner(tmp_path)
    inner = runner.model
    PrepareTTAHook(dict(type='_DoubleTTA')).before_test(runner)
    assert isinstance(runner.model, _DoubleTTA) and runner.model.module is inner
    with pytest.raises(TypeError, match='tta_cfg'):
        PrepareTTAHook('bad')
