from __future__ import annotations

import time

import pytest

from mmengine.utils import Timer, TimerError, check_time


def test_timer_measures_and_checks():
    timer = Timer()
    time.sleep(0.02)
    first = timer.since_last_check()
    assert first >= 0.015
    assert timer.since_last_check() < first
    assert timer.since_start() >= first
    assert timer.is_running


def test_timer_not_started():
    timer = Timer(start=False)
    assert not timer.is_running
    with pytest.raises(TimerError, match='not running'):
        timer.since_start()
    with pytest.raises(TimerError):
        timer.since_last_check()


def test_timer_context_prints(capsys):
    with Timer(print_tmpl='took {:.1f}s'):
        pass
    assert capsys.readouterr().out.strip() == 'took 0.0s'


def test_check_time():
    assert check_time('test_check_time_id') == 0
    time.sleep(0.01)
    assert check_time('test_check_time_id') >= 0.005
