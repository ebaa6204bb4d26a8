"""Preemption: a signal sets a flag, the loop saves at the next iteration boundary and exits
with the configured code; a second signal exits at once; resume='auto' continues exactly.
Also the hang watchdog."""
from __future__ import annotations

import os
import signal

import pytest
import torch

from ._harness import (  # noqa: F401
    assert_same_final_state,
    assert_same_history,
    records,
    wait_for,
    zygote,
)

pytestmark = pytest.mark.reliability


def _pointer(work_dir) -> str:
    return (work_dir / 'last_checkpoint').read_text().strip()


def test_sigterm_saves_exits_143_and_auto_resume_continues_exactly(zygote, tmp_path):  # noqa: F811
    ref, work, log = tmp_path / 'ref', tmp_path / 'work', tmp_path / 'jobs.log'
    # The same arguments for every run, resume='auto' included: a re-run script.
    options = dict(by_epoch=True, num_workers=0, resume='auto',
                   ckpt=dict(interval=100, by_epoch=True, save_last=False))
    rc = zygote.run('train_twice', log, ref_dir=str(ref), work_dir=str(work), signal_at=7,
                    **options)
    assert rc == 128 + signal.SIGTERM, log.read_text()[-3000:]
    # The signal arrived during iteration index 7; the save happened after it (8 done).
    assert _pointer(work).endswith('preempt_iter_8.pth')
    assert max(r['iter'] for r in records(work)) == 7
    state = torch.load(work / 'preempt_iter_8.pth', weights_only=True)
    assert state['meta']['iter'] == 8 and state['data_position']['batch_in_epoch'] == 2
    rc = zygote.run('train', log, work_dir=str(work), **options)
    assert rc == 0, log.read_text()[-3000:]
    assert records(work)[8]['iter'] == 8  # continued, not restarted
    assert_same_history(ref, work, 'preempted at iteration 8')
    assert_same_final_state(ref, work, 'preempted at iteration 8')


def test_sigusr1_with_custom_exit_code_iteration_based(zygote, tmp_path):  # noqa: F811
    work, log = tmp_path / 'work', tmp_path / 'jobs.log'
    rc = zygote.run('train', log, work_dir=str(work), by_epoch=False, signal_at=4,
                    signals=('SIGUSR1',), preemption=dict(signals=['SIGUSR1'], exit_code=3),
                    deterministic=False)
    assert rc == 3, log.read_text()[-3000:]
    assert _pointer(work).endswith('preempt_iter_5.pth')
    assert 'SIGUSR1 received' in log.read_text()


def test_second_signal_exits_at_once_without_saving(zygote, tmp_path):  # noqa: F811
    work, log = tmp_path / 'work', tmp_path / 'jobs.log'
    rc = zygote.run('train', log, work_dir=str(work), signal_at=4,
                    signals=('SIGTERM', 'SIGTERM'), deterministic=False,
                    ckpt=dict(interval=100, by_epoch=False))
    assert rc == 128 + signal.SIGTERM
    assert not list(work.glob('preempt_*')) and not (work / 'last_checkpoint').exists()
    assert max(r['iter'] for r in records(work)) == 3  # iteration index 4 never finished


def test_signal_from_outside_is_handled_at_an_iteration_boundary(zygote, tmp_path):  # noqa: F811
    work, log = tmp_path / 'work', tmp_path / 'jobs.log'
    pid = zygote.start('train', log, work_dir=str(work), by_epoch=False, length=400,
                       faults=dict(iter_sleep=0.02), deterministic=False)
    wait_for(lambda: len(records(work)) >= 3, 60, 'three iterations')
    os.kill(pid, signal.SIGTERM)
    assert zygote.wait(pid, timeout=60) == 128 + signal.SIGTERM
    saved = _pointer(work)
    step = int(saved.rsplit('_', 1)[1].split('.')[0])
    assert step == max(r['iter'] for r in records(work)) + 1 and 3 <= step < 400
    assert torch.load(saved, weights_only=True)['meta']['iter'] == step


def test_preemption_none_keeps_the_default_signal_behaviour(zygote, tmp_path):  # noqa: F811
    work, log = tmp_path / 'work', tmp_path / 'jobs.log'
    rc = zygote.run('train', log, work_dir=str(work), signal_at=3, preemption=None,
                    deterministic=False)
    assert rc == -signal.SIGTERM
    assert not list(work.glob('preempt_*'))


def test_hang_watchdog_dumps_the_stack(zygote, tmp_path):  # noqa: F811
    work, log = tmp_path / 'work', tmp_path / 'jobs.log'
    rc = zygote.run('train', log, work_dir=str(work), by_epoch=False, length=4,
                    hang_timeout=0.5, faults=dict(hang_at=2, hang_for=1.5),
                    deterministic=False)
    assert rc == 0
    text = log.read_text()
    assert 'most recent call first' in text and 'before_train_iter' in text
