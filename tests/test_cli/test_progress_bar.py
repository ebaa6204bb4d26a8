"""ProgressBarHook in both terminal modes: a live bar on a TTY, nothing otherwise."""
from __future__ import annotations

import io

import pytest
from torch.utils.data import DataLoader

from mmengine.hooks import ProgressBarHook
from mmengine.registry import HOOKS
from mmengine.runner import Runner
from tests._helpers.toy import RingsAccuracy, RingsDataset, RingsModel


class FakeTTY(io.StringIO):
    """A stream that claims to be an interactive terminal."""

    def isatty(self) -> bool:
        return True


def _runner(hook: ProgressBarHook, tmp_path, train_iters: int = 0) -> Runner:
    loader = DataLoader(RingsDataset(False, 40), batch_size=10)
    kwargs = {}
    if train_iters:
        kwargs = dict(train_dataloader=DataLoader(RingsDataset(True, 40), batch_size=10),
                      train_cfg=dict(by_epoch=False, max_iters=train_iters, val_interval=100),
                      optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)))
    return Runner(RingsModel(), work_dir=str(tmp_path), val_dataloader=loader,
                  val_evaluator=RingsAccuracy(), val_cfg=dict(), test_dataloader=loader,
                  test_evaluator=RingsAccuracy(), test_cfg=dict(), custom_hooks=[hook],
                  default_hooks=dict(logger=dict(type='LoggerHook', interval=2)), **kwargs)


def test_registered_and_not_a_default_hook(tmp_path):
    assert HOOKS.get('ProgressBarHook') is ProgressBarHook
    runner = Runner(RingsModel(), work_dir=str(tmp_path))
    assert not any(isinstance(h, ProgressBarHook) for h in runner.hooks)


@pytest.mark.parametrize('stage', ['val', 'test'])
def test_tty_draws_bar_with_eta(tmp_path, stage):
    stream = FakeTTY()
    hook = ProgressBarHook(stream=stream, refresh_per_second=50)
    runner = _runner(hook, tmp_path)
    metrics = getattr(runner, stage)()
    assert 'accuracy' in metrics
    out = stream.getvalue()
    assert stage.capitalize() in out
    assert '4/4' in out  # the final redraw shows every batch done
    assert 'eta' in out
    assert '\x1b[' in out  # drawn with terminal control sequences
    # the logger's periodic line was routed through the live console, above the bar
    assert f'Epoch({stage})' in out
    assert hook._progress is None and not hook._tasks  # the bar is gone afterwards


def test_non_tty_does_nothing(tmp_path, monkeypatch):
    stream = io.StringIO()
    hook = ProgressBarHook(stream=stream, train=True)
    runner = _runner(hook, tmp_path, train_iters=3)
    import rich.progress
    monkeypatch.setattr(rich.progress.Progress, 'start',
                        lambda self: pytest.fail('a bar was started on a non-terminal'))
    runner.train()
    runner.val()
    assert stream.getvalue() == ''
    assert hook._progress is None and not hook._tasks


def test_train_bar_iteration_based(tmp_path):
    stream = FakeTTY()
    hook = ProgressBarHook(stream=stream, train=True, refresh_per_second=50)
    _runner(hook, tmp_path, train_iters=3).train()
    out = stream.getvalue()
    assert 'Train' in out and '3/3' in out
    assert hook._progress is None
