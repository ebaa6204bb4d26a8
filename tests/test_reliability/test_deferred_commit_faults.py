"""Deferred (background) checkpoint commits under process death: a SIGKILL while the commit
is pending leaves the previous checkpoint and bookkeeping, and a later save removes the
orphaned temporary file; a normal exit lets the pending commit finish first."""
from __future__ import annotations

import json
import os
import os.path as osp
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import torch

from mmengine.runner.checkpoint import (
    MANIFEST,
    deferred_commit,
    read_manifest,
    save_checkpoint,
    wait_for_checkpoint_commits,
)

pytestmark = pytest.mark.reliability
ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

# argv: work_dir, mode ('hold': the commit never proceeds; 'slow': it takes 0.5 s;
# 'fail': its rename fails). The script saves epoch_1 synchronously, then epoch_2 deferred
# (recording it in the manifest once committed), and ends without waiting.
SCRIPT = textwrap.dedent('''
    import errno, os, sys, threading, time
    import torch
    from mmengine.runner import _ckpt_commit
    from mmengine.runner.checkpoint import deferred_commit, record_checkpoint, save_checkpoint

    work, mode = sys.argv[1], sys.argv[2]
    first, second = os.path.join(work, 'epoch_1.pth'), os.path.join(work, 'epoch_2.pth')
    save_checkpoint({'v': torch.tensor(1)}, first)
    record_checkpoint(work, first)
    original = _ckpt_commit._commit_file

    def changed(temp, filename):
        os.write(1, b'COMMITTING\\n')  # one write: the main thread prints concurrently
        if mode == 'hold':
            threading.Event().wait()
        time.sleep(0.5)
        if mode == 'fail':
            raise OSError(errno.EIO, 'Input/output error')
        original(temp, filename)

    _ckpt_commit._commit_file = changed
    with deferred_commit(on_committed=lambda: record_checkpoint(work, second)):
        save_checkpoint({'v': torch.zeros(100_000)}, second)
    os.write(1, b'RETURNED\\n')
''')


def _run(work_dir: str, mode: str, log) -> subprocess.Popen:
    """Start the script with its output going to the file ``log`` (a pipe could fill up)."""
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get('PYTHONPATH', ''))
    with open(log, 'w') as out:
        return subprocess.Popen([sys.executable, '-c', SCRIPT, work_dir, mode], cwd=ROOT,
                                env=env, stdout=out, stderr=subprocess.STDOUT, text=True)


def _wait_for_lines(proc: subprocess.Popen, log, lines: set[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not lines <= set(log.read_text().split()):
        if proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f'the script did not print {sorted(lines)}:\n{log.read_text()[-3000:]}')
        time.sleep(0.05)


def _names(work_dir: str) -> list[str]:
    return sorted(n for n in os.listdir(work_dir) if n.endswith(('.pth', '.tmp')))


def test_sigkill_with_a_pending_commit_keeps_the_previous_checkpoint(tmp_path):
    work, log = str(tmp_path / 'work'), tmp_path / 'log.txt'
    os.makedirs(work)
    proc = _run(work, 'hold', log)
    try:
        _wait_for_lines(proc, log, {'COMMITTING', 'RETURNED'}, timeout=90)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=20)
    finally:
        proc.kill()
    names = _names(work)
    assert names[0].startswith('.epoch_2.pth.') and names[1:] == ['epoch_1.pth']
    assert (tmp_path / 'work' / 'last_checkpoint').read_text() == osp.join(work, 'epoch_1.pth')
    assert [r['path'] for r in read_manifest(work)] == [osp.join(work, 'epoch_1.pth')]
    assert torch.load(tmp_path / 'work' / 'epoch_1.pth', weights_only=True)['v'].item() == 1
    # The next deferred save in that directory commits and removes the orphan.
    with deferred_commit():
        save_checkpoint({'v': torch.tensor(2)}, osp.join(work, 'epoch_2.pth'))
    wait_for_checkpoint_commits()
    assert _names(work) == ['epoch_1.pth', 'epoch_2.pth']


def test_exit_lets_the_pending_commit_and_its_callbacks_finish(tmp_path):
    work, log = str(tmp_path / 'work'), tmp_path / 'log.txt'
    os.makedirs(work)
    assert _run(work, 'slow', log).wait(timeout=90) == 0, log.read_text()[-3000:]
    assert sorted(log.read_text().split()) == ['COMMITTING', 'RETURNED'], log.read_text()
    assert _names(work) == ['epoch_1.pth', 'epoch_2.pth']
    assert (tmp_path / 'work' / 'last_checkpoint').read_text() == osp.join(work, 'epoch_2.pth')
    records = json.loads((tmp_path / 'work' / MANIFEST).read_text())['checkpoints']
    assert records[-1]['size'] == os.path.getsize(tmp_path / 'work' / 'epoch_2.pth')


def test_a_commit_failing_after_the_last_wait_is_reported_at_exit(tmp_path):
    work, log = str(tmp_path / 'work'), tmp_path / 'log.txt'
    os.makedirs(work)
    assert _run(work, 'fail', log).wait(timeout=90) == 0, log.read_text()[-3000:]
    err = log.read_text()
    assert 'a checkpoint commit failed' in err and 'Could not write' in err
    assert 'epoch_2.pth' in err and 'Input/output error' in err
    assert _names(work) == ['epoch_1.pth']
    assert (tmp_path / 'work' / 'last_checkpoint').read_text() == osp.join(work, 'epoch_1.pth')
