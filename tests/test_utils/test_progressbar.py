"""Progress output in non-terminal mode (the mode of logs, pipes and CI)."""
from __future__ import annotations

import io
import re

import pytest

from mmengine.utils import (
    ProgressBar,
    track_iter_progress,
    track_parallel_progress,
    track_progress,
    track_progress_rich,
)


def _square(x):
    return x * x


def _add(x, y=0):
    return x + y


def _lines(out: io.StringIO) -> list[str]:
    return out.getvalue().splitlines()


def test_progress_bar_plain_lines():
    out = io.StringIO()
    bar = ProgressBar(4, bar_width=8, file=out)
    for _ in range(4):
        bar.update()
    lines = _lines(out)
    assert '\r' not in out.getvalue() and '\x1b' not in out.getvalue()  # no terminal codes
    assert lines[0].startswith('[        ] 0/4')
    assert lines[-1].startswith('[>>>>>>>>] 4/4')
    assert re.search(r'task/s, elapsed: \d+s, ETA: +\d+s$', lines[-1])
    assert [int(re.search(r'(\d+)/4', line).group(1)) for line in lines] == [0, 1, 2, 3, 4]


def test_progress_bar_throttles_long_jobs():
    out = io.StringIO()
    bar = ProgressBar(1000, file=out)
    for _ in range(1000):
        bar.update()
    assert 10 <= len(_lines(out)) <= 12  # first line, one per tenth, final line
    assert _lines(out)[-1].split(']')[1].startswith(' 1000/1000')


def test_progress_bar_unknown_total_and_errors():
    out = io.StringIO()
    bar = ProgressBar(file=out)
    bar.update(3)
    assert _lines(out)[-1].startswith('completed: 3, elapsed:')
    with pytest.raises(ValueError, match='positive'):
        bar.update(0)
    assert bar.terminal_width > 0


def test_track_progress_and_iter():
    out = io.StringIO()
    assert track_progress(_add, [1, 2, 3], file=out, y=10) == [11, 12, 13]
    assert _lines(out)[-1].split(']')[1].startswith(' 3/3')
    out = io.StringIO()
    assert track_progress(_square, (iter([2, 3]), 2), file=out) == [4, 9]
    out = io.StringIO()
    assert [x for x in track_iter_progress(['a', 'b'], file=out)] == ['a', 'b']
    assert ' 2/2' in _lines(out)[-1]
    with pytest.raises(TypeError, match='sized iterable'):
        track_progress(_square, iter([1]))


def test_track_parallel_progress():
    out = io.StringIO()
    results = track_parallel_progress(_square, list(range(6)), nproc=2, file=out)
    assert results == [0, 1, 4, 9, 16, 25]
    assert ' 6/6' in _lines(out)[-1]
    out = io.StringIO()
    unordered = track_parallel_progress(_square, list(range(6)), nproc=2, keep_order=False,
                                        skip_first=True, file=out)
    assert sorted(unordered) == [0, 1, 4, 9, 16, 25]
    assert ' 4/4' in _lines(out)[-1]  # the first nproc * chunksize tasks are not counted


def test_track_progress_rich_plain(capsys):
    assert track_progress_rich(_add, ([1, 2, 3], [10, 20, 30])) == [11, 22, 33]
    out = capsys.readouterr().out
    assert '\x1b' not in out and out.splitlines()[-1].split(']')[1].startswith(' 3/3')
    assert track_progress_rich(_square, [1, 2, 3]) == [1, 4, 9]  # a plain iterable
    assert track_progress_rich(_add, ([1, 2], [{'y': 5}, {'y': 6}])) == [6, 8]
    assert track_progress_rich(lambda: 7, task_num=2) == [7, 7]
    with pytest.raises(ValueError, match='task_num'):
        track_progress_rich(lambda: 7)
    with pytest.raises(ValueError, match='nproc'):
        track_progress_rich(_square, ([1], ), nproc=0)


def test_track_progress_rich_processes():
    assert track_progress_rich(_square, (list(range(5)), ), nproc=2, chunksize=2) == [
        0, 1, 4, 9, 16]


def test_progress_bar_rich_on_terminal(monkeypatch):

    class FakeTerminal(io.StringIO):

        def isatty(self):
            return True

    out = FakeTerminal()
    bar = ProgressBar(3, file=out)
    for _ in range(3):
        bar.update()
    text = out.getvalue()
    assert '3/3' in text and '\x1b' in text  # a live rich bar with terminal control codes
