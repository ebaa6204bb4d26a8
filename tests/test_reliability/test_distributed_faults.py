"""Distributed faults under torchrun with 2 gloo ranks: a failing rank ends the whole job with
its error in the log; SIGTERM makes every rank save one checkpoint together."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from ._harness import ROOT, records, wait_for

pytestmark = [pytest.mark.reliability, pytest.mark.dist]


def _torchrun(work_dir, **kwargs) -> subprocess.Popen:
    kwargs = dict(work_dir=str(work_dir), launcher='pytorch', deterministic=False,
                  num_workers=0, **kwargs)
    command = [sys.executable, '-m', 'torch.distributed.run', '--standalone',
               '--nproc_per_node', '2', '-m', 'tests.test_reliability._jobs',
               json.dumps(kwargs)]
    return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, 'OMP_NUM_THREADS': '1'})


def _finish(proc: subprocess.Popen, timeout: float) -> str:
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        pytest.fail(f'the job did not end within {timeout}s:\n{out[-4000:]}')
    return out


def test_a_failing_rank_ends_the_job_with_its_error_logged(tmp_path):
    proc = _torchrun(tmp_path / 'work', by_epoch=False, length=40,
                     faults=dict(fail=[1, 3]))
    out = _finish(proc, timeout=120)
    assert proc.returncode != 0
    assert 'Training failed on rank 1 at iteration 3' in out
    assert 'RuntimeError: injected failure on rank 1' in out


def test_sigterm_to_torchrun_saves_one_checkpoint_on_all_ranks(tmp_path):
    work = tmp_path / 'work'
    proc = _torchrun(work, by_epoch=False, length=400, faults=dict(iter_sleep=0.02),
                     ckpt=dict(interval=1000, by_epoch=False, save_last=False))
    wait_for(lambda: len(records(work)) >= 6 or proc.poll() is not None, 120, 'training')
    proc.send_signal(signal.SIGTERM)
    out = _finish(proc, timeout=120)
    assert proc.returncode != 0
    saved = sorted(p.name for p in work.glob('preempt_iter_*.pth'))
    assert len(saved) == 1, out[-4000:]
    step = int(saved[0].split('_')[-1].split('.')[0])
    # Both ranks stopped after the same iteration: each recorded exactly `step` iterations.
    assert sorted(r['iter'] for r in records(work)) == sorted(list(range(step)) * 2)
    assert (work / 'last_checkpoint').read_text().strip().endswith(saved[0])
