"""Fault injection around checkpoint files: kills and signals mid-write, a full disk, corrupt
or truncated newest checkpoints. The faulty runs happen in subprocesses."""
from __future__ import annotations

import os
import os.path as osp
import signal
import subprocess
import sys

import pytest
import torch

from mmengine.runner.checkpoint import MANIFEST, read_manifest
from tests.test_reliability._ckpt_worker import build

pytestmark = pytest.mark.reliability
ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _start(mode: str, work_dir: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get('PYTHONPATH', ''))
    return subprocess.Popen([sys.executable, '-m', 'tests.test_reliability._ckpt_worker', mode,
                             work_dir], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _signal_mid_write(mode: str, work_dir: str, signum: int) -> tuple[int, str]:
    proc = _start(mode, work_dir)
    try:
        line = ''
        while line.strip() != 'MIDWRITE':
            line = proc.stdout.readline()
            if not line:
                pytest.fail(f'worker ended before writing epoch 2: {proc.stderr.read()}')
        assert any(n.startswith('.epoch_2.pth.') for n in os.listdir(work_dir))
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    return proc.returncode, err


def _assert_only_complete_checkpoints(work_dir: str) -> None:
    assert not osp.exists(osp.join(work_dir, 'epoch_2.pth'))
    with open(osp.join(work_dir, 'last_checkpoint')) as file:
        assert file.read() == osp.join(work_dir, 'epoch_1.pth')
    assert [r['path'] for r in read_manifest(work_dir)] == [osp.join(work_dir, 'epoch_1.pth')]
    checkpoint = torch.load(osp.join(work_dir, 'epoch_1.pth'), weights_only=True)
    assert checkpoint['meta']['epoch'] == 1


def _resume_and_finish(work_dir: str) -> None:
    runner = build(work_dir, resume=True)
    runner.train()
    assert runner.epoch == 3
    assert osp.isfile(osp.join(work_dir, 'epoch_3.pth'))


def test_sigkill_during_write_keeps_previous_checkpoint_resumable(tmp_path):
    work_dir = str(tmp_path / 'run')
    code, _ = _signal_mid_write('plain', work_dir, signal.SIGKILL)
    assert code == -signal.SIGKILL
    _assert_only_complete_checkpoints(work_dir)
    _resume_and_finish(work_dir)
    assert torch.load(osp.join(work_dir, 'epoch_3.pth'), weights_only=True)['meta']['iter'] == 12


def test_preemption_signal_during_write_lets_the_write_finish(tmp_path):
    work_dir = str(tmp_path / 'run')
    code, err = _signal_mid_write('preempt', work_dir, signal.SIGTERM)
    assert code == 128 + signal.SIGTERM, err
    names = sorted(n for n in os.listdir(work_dir) if n.endswith(('.pth', '.tmp')))
    assert names[:2] == ['epoch_1.pth', 'epoch_2.pth'] and len(names) == 3, names
    for name in names:  # the stalled write completed; the preemption save came after it
        torch.load(osp.join(work_dir, name), weights_only=True)
    _resume_and_finish(work_dir)


def test_file_size_limit_reports_path_and_free_space(tmp_path):
    work_dir = str(tmp_path / 'run')
    proc = _start('fsize', work_dir)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1
    assert 'CheckpointSaveError: Could not write ' + osp.join(work_dir, 'epoch_2.pth') in err
    assert 'File too large' in err and 'MiB free in' in err
    _assert_only_complete_checkpoints(work_dir)
    assert not [n for n in os.listdir(work_dir) if n.endswith('.tmp')]


def _corrupt(path: str, truncate: bool) -> None:
    with open(path, 'r+b') as file:
        if truncate:
            file.truncate(os.path.getsize(path) // 2)
        else:  # same size, one bit flipped inside the tensor data
            file.seek(os.path.getsize(path) // 2)
            byte = file.read(1)
            file.seek(-1, 1)
            file.write(bytes([byte[0] ^ 1]))


@pytest.mark.parametrize('truncate, manifest', [(True, True), (False, True), (True, False)])
def test_bad_newest_checkpoint_falls_back_to_previous(tmp_path, truncate, manifest):
    work_dir = str(tmp_path / 'run')
    full = build(work_dir)
    full.train_loop._max_epochs = 2
    full.train()
    _corrupt(osp.join(work_dir, 'epoch_2.pth'), truncate)
    if not manifest:  # an older run without records: the failed load is what detects it
        os.remove(osp.join(work_dir, MANIFEST))
    runner = build(work_dir, resume=True)
    with pytest.warns(UserWarning, match='epoch_2.pth is not usable'):
        runner.train()
    assert runner.message_hub.get_info('resumed_from') == (1, 4)


def test_resume_without_any_usable_checkpoint_starts_fresh(tmp_path):
    work_dir = str(tmp_path / 'run')
    os.makedirs(work_dir)
    with open(osp.join(work_dir, 'epoch_1.pth'), 'wb') as file:
        file.write(b'not a checkpoint')
    runner = build(work_dir, resume=True)
    with pytest.warns(UserWarning, match='epoch_1.pth is not usable'):
        runner.train()
    assert runner.message_hub.get_info('resumed_from') == (0, 0)
