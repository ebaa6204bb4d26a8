"""Test helpers for deferred checkpoint commits: hold the committer thread (a slow disk)
and make the rename of chosen files fail (a full disk at commit time)."""
from __future__ import annotations

import errno
import os
import os.path as osp
import threading
import time

import pytest

from mmengine.runner import _ckpt_commit
from mmengine.runner.checkpoint import CheckpointSaveError, wait_for_checkpoint_commits


class CommitGate:
    """Every background commit waits for :meth:`release` before hashing and renaming."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.event = threading.Event()
        self.started: list[str] = []
        self.timed_out = False  # a wait blocked on a held commit: a test (or code) bug
        original = _ckpt_commit._commit_file

        def gated(temp, filename):
            self.started.append(osp.basename(filename))
            if not self.event.wait(10):
                self.timed_out = True
            original(temp, filename)

        monkeypatch.setattr(_ckpt_commit, '_commit_file', gated)

    def release(self, after: float | None = None) -> None:
        """Let the commits go, now or ``after`` seconds from now (in a timer thread)."""
        if after is None:
            self.event.set()
        else:
            threading.Timer(after, self.event.set).start()


@pytest.fixture
def gate(monkeypatch):
    """A :class:`CommitGate`; released and drained at teardown so no commit leaks."""
    holder = CommitGate(monkeypatch)
    yield holder
    holder.release()
    try:
        wait_for_checkpoint_commits()
    except CheckpointSaveError:
        pass
    assert not holder.timed_out, 'something waited for a commit the test was holding back'


def slow_commits(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """Every background commit takes ``seconds`` longer (a slow disk)."""
    original = _ckpt_commit._commit_file

    def slow(temp, filename):
        time.sleep(seconds)
        original(temp, filename)

    monkeypatch.setattr(_ckpt_commit, '_commit_file', slow)


def fail_rename(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Make renaming a temporary file onto ``name`` fail with ENOSPC."""
    original = os.replace

    def replace(src, dst, *args, **kwargs):
        if osp.basename(str(dst)) == name:
            raise OSError(errno.ENOSPC, 'No space left on device')
        return original(src, dst, *args, **kwargs)

    monkeypatch.setattr(_ckpt_commit.os, 'replace', replace)


def temporaries(directory) -> list[str]:
    return sorted(n for n in os.listdir(directory) if n.endswith('.tmp'))


def committer_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == 'mmengine-checkpoint-commit']
