"""Deferred checkpoint commits at the level of ``mmengine.runner.checkpoint``: real files,
a real committer thread held back by a gate."""
from __future__ import annotations

import hashlib
import os
import os.path as osp
import time

import pytest
import torch

from mmengine.runner import checkpoint as ckpt
from mmengine.runner.checkpoint import (
    CheckpointSaveError,
    deferred_commit,
    save_checkpoint,
    wait_for_checkpoint_commits,
)

from ._commit_gate import committer_threads, fail_rename, gate, temporaries  # noqa: F401


def _sha(path) -> str:
    with open(path, 'rb') as file:
        return hashlib.sha256(file.read()).hexdigest()


def test_deferred_save_returns_before_commit_then_wait_completes(tmp_path, gate):  # noqa: F811
    path = str(tmp_path / 'a.pth')
    calls = []
    with deferred_commit(on_committed=lambda: calls.append(osp.isfile(path))):
        save_checkpoint({'w': torch.arange(1000)}, path)
    assert not osp.exists(path) and calls == []
    assert len(temporaries(tmp_path)) == 1 and temporaries(tmp_path)[0].startswith('.a.pth.')
    gate.release()
    wait_for_checkpoint_commits()
    assert calls == [True]  # the callback ran after the rename
    assert temporaries(tmp_path) == []
    assert torch.equal(torch.load(path, weights_only=True)['w'], torch.arange(1000))
    # The digest was computed from the file read back, in the committer thread.
    assert ckpt.checkpoint_integrity(path) == dict(size=os.path.getsize(path), sha256=_sha(path))


def test_save_outside_the_scope_is_synchronous(tmp_path, gate):  # noqa: F811
    path = str(tmp_path / 'a.pth')
    save_checkpoint({'w': torch.ones(3)}, path)
    assert osp.isfile(path) and gate.started == [] and committer_threads() == []


def test_next_save_waits_for_the_pending_commit(tmp_path, gate):  # noqa: F811
    first, second = str(tmp_path / 'a.pth'), str(tmp_path / 'b.pth')
    order = []
    with deferred_commit(on_committed=lambda: order.append(('a', osp.exists(second)))):
        save_checkpoint({'w': torch.ones(3)}, first)
    gate.release(after=0.3)
    start = time.perf_counter()
    save_checkpoint({'w': torch.zeros(3)}, second)  # synchronous, but only after a.pth
    assert time.perf_counter() - start >= 0.25
    assert order == [('a', False)] and osp.isfile(first) and osp.isfile(second)


def test_loads_and_lookups_wait_for_the_commit(tmp_path, gate):  # noqa: F811
    path = str(tmp_path / 'epoch_2.pth')
    save_checkpoint({'v': torch.tensor(1)}, path)
    with deferred_commit():
        save_checkpoint({'v': torch.tensor(2)}, path)
    gate.release(after=0.2)
    assert ckpt._load_checkpoint(path)['v'].item() == 2
    with deferred_commit():
        save_checkpoint({'v': torch.tensor(3)}, str(tmp_path / 'epoch_3.pth'))
    assert ckpt.find_latest_checkpoint(str(tmp_path)) == str(tmp_path / 'epoch_3.pth')


def test_failed_commit_raises_once_at_the_wait_and_keeps_the_old_file(tmp_path, monkeypatch,
                                                                       gate):  # noqa: F811
    path = str(tmp_path / 'a.pth')
    save_checkpoint({'v': torch.tensor(1)}, path)
    fail_rename(monkeypatch, 'a.pth')
    seen = []
    with deferred_commit(on_committed=lambda: seen.append('committed'),
                         on_failed=lambda exc: seen.append(exc) and False):
        save_checkpoint({'v': torch.tensor(2)}, path)
    gate.release()
    with pytest.raises(CheckpointSaveError, match=f'Could not write {path}: No space left'):
        wait_for_checkpoint_commits()
    assert len(seen) == 1 and isinstance(seen[0], CheckpointSaveError)
    wait_for_checkpoint_commits()  # raised once only
    assert torch.load(path, weights_only=True)['v'].item() == 1
    assert temporaries(tmp_path) == []


def test_handled_failure_is_not_reraised(tmp_path, monkeypatch, gate):  # noqa: F811
    fail_rename(monkeypatch, 'a.pth')
    gate.release()
    with deferred_commit(on_failed=lambda exc: True):
        save_checkpoint({'v': torch.tensor(2)}, str(tmp_path / 'a.pth'))
    wait_for_checkpoint_commits()
    save_checkpoint({'v': torch.tensor(3)}, str(tmp_path / 'b.pth'))
    assert os.listdir(tmp_path) == ['b.pth']


def test_failing_callback_surfaces_at_the_wait(tmp_path, gate):  # noqa: F811
    def broken():
        raise RuntimeError('bookkeeping broke')

    with deferred_commit(on_committed=broken):
        save_checkpoint({'v': torch.tensor(2)}, str(tmp_path / 'a.pth'))
    gate.release()
    with pytest.raises(RuntimeError, match='bookkeeping broke'):
        wait_for_checkpoint_commits()
    assert osp.isfile(tmp_path / 'a.pth')  # the commit itself succeeded


def test_write_failure_in_deferred_mode_raises_at_once(tmp_path, gate):  # noqa: F811
    blocker = tmp_path / 'file'
    blocker.write_text('x')
    with pytest.raises(CheckpointSaveError, match='Could not write'), deferred_commit():
        save_checkpoint({'v': torch.tensor(1)}, str(blocker / 'a.pth'))
    assert gate.started == []


def test_commit_removes_stale_temporaries_only(tmp_path, gate):  # noqa: F811
    old = ['.epoch_1.pth.abcd_123.tmp', '.last_checkpoint.json.k2j4h5g6.tmp']
    kept = ['.notes.txt.abcd1234.tmp', '.epoch_3.pth.abcd1234.tmp', 'x.tmp']
    for name in old + kept:
        (tmp_path / name).write_bytes(b'partial')
    for name in old + kept[:1] + kept[2:]:
        os.utime(tmp_path / name, ns=(10**18, 10**18))  # long ago
    future = time.time_ns() + 10**12  # "newer than the pending commit": someone else's
    os.utime(tmp_path / kept[1], ns=(future, future))
    with deferred_commit():
        save_checkpoint({'v': torch.tensor(1)}, str(tmp_path / 'epoch_2.pth'))
    gate.release()
    wait_for_checkpoint_commits()
    assert temporaries(tmp_path) == sorted(kept)
