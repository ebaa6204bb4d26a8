"""SIGKILL at random iterations, resume with resume=True: bit-identical to an uninterrupted run.

Each case runs, in forked children: the uninterrupted reference and a run killed at a random
iteration (one child), a resumed run killed again later, and a resumed run to the end. The
data pipeline draws from random/numpy/torch, the model uses dropout, samplers shuffle, and
validation runs between epochs. Set RELIABILITY_SEED to replay a failure.
"""
from __future__ import annotations

import os
import random

import pytest

from ._harness import assert_same_final_state, assert_same_history, zygote  # noqa: F401

pytestmark = pytest.mark.reliability

TOTAL = 18  # iterations: 3 epochs of 6 batches, or max_iters=18

CASES = {
    'epoch-nw0-ckpt-every-4-iters': dict(by_epoch=True, num_workers=0,
                                         ckpt=dict(interval=4, by_epoch=False)),
    'epoch-nw2-bf16-ckpt-every-epoch': dict(by_epoch=True, num_workers=2, amp=True,
                                            ckpt=dict(interval=1, by_epoch=True)),
    'iter-nw0-ckpt-every-5-iters': dict(by_epoch=False, num_workers=0,
                                        ckpt=dict(interval=5, by_epoch=False)),
    'iter-nw2-bf16-ckpt-every-4-iters': dict(by_epoch=False, num_workers=2, amp=True,
                                             ckpt=dict(interval=4, by_epoch=False)),
}


def _kill_points() -> tuple[int, int, int]:
    seed = int(os.environ.get('RELIABILITY_SEED', random.randrange(2**31)))
    rng = random.Random(seed)
    first = rng.randrange(3, TOTAL // 2)
    second = rng.randrange(first + 2, TOTAL)
    return seed, first, second


@pytest.mark.parametrize('name', list(CASES))
def test_sigkill_resume_is_bit_identical(zygote, tmp_path, name):  # noqa: F811
    options = CASES[name]
    seed, first, second = _kill_points()
    note = f'{name} (RELIABILITY_SEED={seed}, kills at iterations {first} and {second})'
    ref, work = tmp_path / 'ref', tmp_path / 'interrupted'
    log = tmp_path / 'jobs.log'
    rc = zygote.run('train_twice', log, timeout=90, ref_dir=str(ref), work_dir=str(work),
                    kill_at=first, **options)
    assert rc == -9, f'{note}: the first run was not killed (status {rc}); see {log}'
    rc = zygote.run('train', log, timeout=60, work_dir=str(work), resume=True,
                    kill_at=second, **options)
    assert rc == -9, f'{note}: the resumed run was not killed (status {rc})'
    rc = zygote.run('train', log, timeout=60, work_dir=str(work), resume=True, **options)
    assert rc == 0, f'{note}: the last run failed; log:\n{log.read_text()[-3000:]}'
    assert_same_history(ref, work, note)
    assert_same_final_state(ref, work, note)
