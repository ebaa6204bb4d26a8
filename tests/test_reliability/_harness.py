"""Test-side helpers: the zygote process, record/scalar comparison.

Import the ``zygote`` fixture into a test module with ``from ._harness import zygote``.
"""
from __future__ import annotations

import glob
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
JOBS = 'tests.test_reliability._jobs'
# Scalars that measure wall time, not training.
_TIMING = {'time', 'data_time', 'eta', 'memory'}


class Zygote:
    """Client of ``_zygote.py``: start forked jobs and wait for them, each with a timeout."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, '-m', 'tests.test_reliability._zygote'],
                                     cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True)

    def _ask(self, request: dict) -> dict:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(request) + '\n')
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f'the zygote died with code {self.proc.poll()}')
        return json.loads(line)

    def start(self, fn: str, log: str | os.PathLike, **kwargs) -> int:
        """Fork a child running ``tests.test_reliability._jobs.<fn>(**kwargs)``."""
        return self._ask(dict(op='start', fn=f'{JOBS}:{fn}', kwargs=kwargs,
                              log=str(log)))['pid']

    def wait(self, pid: int, timeout: float = 60) -> int:
        """The child's exit status (``-signum`` when killed); fails the test on a timeout."""
        reply = self._ask(dict(op='wait', pid=pid, timeout=timeout))
        assert not reply['timed_out'], f'job {pid} did not finish within {timeout}s'
        return reply['rc']

    def run(self, fn: str, log: str | os.PathLike, timeout: float = 60, **kwargs) -> int:
        """Start a job and wait for it."""
        return self.wait(self.start(fn, log, **kwargs), timeout)

    def close(self) -> None:
        # The zygote holds nothing worth a clean shutdown (which takes torch seconds).
        self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()


@pytest.fixture(scope='session')
def zygote():
    client = Zygote()
    yield client
    client.close()


def records(work_dir: str | os.PathLike) -> list[dict]:
    """Every complete line of ``records.jsonl`` (a SIGKILL may cut the last one)."""
    path = Path(work_dir) / 'records.jsonl'
    out = []
    for line in path.read_text().splitlines() if path.exists() else []:
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out


def scalars(work_dir: str | os.PathLike) -> list[dict]:
    """Every complete ``scalars.json`` line of every run in ``work_dir``, timing keys removed."""
    out = []
    for path in sorted(glob.glob(os.path.join(work_dir, '*', 'vis_data', 'scalars.json'))):
        for line in Path(path).read_text().splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            out.append({k: v for k, v in entry.items() if k not in _TIMING})
    return out


def assert_same_history(reference: str | os.PathLike, interrupted: str | os.PathLike,
                        note: str) -> None:
    """Every iteration any interrupted run recorded equals the reference's, and together the
    runs recorded every iteration; likewise every logged scalar line."""
    ref = {r['iter']: r for r in records(reference)}
    seen = records(interrupted)
    for rec in seen:
        assert rec == ref[rec['iter']], f'{note}: iteration {rec["iter"]} differs'
    assert {r['iter'] for r in seen} == set(ref), f'{note}: iterations missing'
    ref_lines = {(e['step'], tuple(sorted(e))): e for e in scalars(reference)}
    lines = scalars(interrupted)
    assert lines, f'{note}: nothing logged'
    for entry in lines:
        key = (entry['step'], tuple(sorted(entry)))
        assert entry == ref_lines[key], f'{note}: logged scalars differ at step {entry["step"]}'
    assert {(e['step'], tuple(sorted(e))) for e in lines} == set(ref_lines), \
        f'{note}: logged lines missing'


def assert_same_final_state(reference: str | os.PathLike, interrupted: str | os.PathLike,
                            note: str) -> None:
    """Bit-identical parameters and optimizer state."""
    ref = torch.load(Path(reference) / 'final.pt', weights_only=True)
    got = torch.load(Path(interrupted) / 'final.pt', weights_only=True)
    for name, value in ref['model'].items():
        assert torch.equal(value, got['model'][name]), f'{note}: parameter {name} differs'
    _assert_nested_equal(ref['optim'], got['optim'], f'{note}: optimizer state')


def _assert_nested_equal(a, b, where: str) -> None:
    if isinstance(a, dict):
        assert set(a) == set(b), where
        for key in a:
            _assert_nested_equal(a[key], b[key], f'{where}.{key}')
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_nested_equal(x, y, f'{where}[{i}]')
    elif isinstance(a, torch.Tensor):
        assert torch.equal(a, b), where
    else:
        assert a == b, where


def wait_for(predicate, timeout: float, what: str) -> None:
    """Poll ``predicate`` until it holds (fails after ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f'timed out waiting for {what}'
        time.sleep(0.05)
