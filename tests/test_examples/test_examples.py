"""Every example program runs (with small settings) and does what it says.

The examples share one subprocess (``_run_examples.py``) so that torch is imported once;
each still runs as ``__main__`` with its own arguments and working directory.
"""
from __future__ import annotations

import glob
import json
import os
import os.path as osp
import re
import subprocess
import sys

import pytest
import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
EXAMPLES = osp.join(REPO, 'examples')

JOBS = {
    'rings_config': ('rings/train.py', ['--max-epochs', '2', '--train-size', '1280', '--seed', '0',
                                        '--num-workers', '0', '--work-dir', 'wd']),
    'rings_api': ('rings/train_api.py', ['--max-epochs', '2', '--train-size', '640',
                                         '--num-workers', '0', '--work-dir', 'wd']),
    'gan': ('gan/train.py', ['--max-iters', '20', '--log-interval', '10', '--work-dir', 'wd']),
    'iter_based': ('iter_based/train.py', ['--max-iters', '30', '--val-interval', '15',
                                           '--train-size', '640', '--log-interval', '2',
                                           '--work-dir', 'wd']),
    'offline_eval': ('offline_eval/run.py', ['--max-epochs', '1', '--train-size', '500',
                                             '--work-dir', 'wd']),
    'custom_hook': ('custom_hook/train.py', ['--max-epochs', '2', '--train-size', '320',
                                             '--work-dir', 'wd']),
    'custom_optim_constructor': ('custom_optim_constructor/train.py',
                                 ['--max-epochs', '3', '--train-size', '320',
                                  '--work-dir', 'wd']),
}


@pytest.fixture(scope='module')
def ran(tmp_path_factory):
    out_dir = str(tmp_path_factory.mktemp('examples'))
    argv = []
    for name, (script, args) in JOBS.items():
        argv += [f'{name}={osp.join(EXAMPLES, script)}', *args, '---']
    subprocess.run([sys.executable, osp.join(osp.dirname(__file__), '_run_examples.py'),
                    out_dir, *argv], check=True, timeout=600,
                   env=dict(os.environ, PYTHONPATH=REPO))
    with open(osp.join(out_dir, 'results.json')) as file:
        results = json.load(file)

    def get(name: str) -> tuple[str, str]:
        assert results[name] == 'ok', results[name]
        with open(osp.join(out_dir, name, 'output.txt')) as file:
            return osp.join(out_dir, name), file.read()
    return get


def test_every_example_is_run():
    scripts = {osp.relpath(p, EXAMPLES) for p in glob.glob(osp.join(EXAMPLES, '*', '*.py'))}
    scripts -= {'rings/rings_components.py', 'rings/example_config.py'}
    assert scripts == {script for script, _ in JOBS.values()} | {'cifar10_resnet50/train.py'}


def test_rings_config(ran):
    cwd, out = ran('rings_config')
    assert 'Epoch(train) [1][10/20]' in out and 'Saving checkpoint at 2 epochs' in out
    accuracy = float(re.search(r'Epoch\(val\) \[2\]\[1/1\]\s+accuracy: ([\d.]+)', out)[1])
    assert accuracy > 70  # far better than chance after 40 iterations (seeded: 77.9)
    assert osp.isfile(osp.join(cwd, 'wd', 'epoch_2.pth'))
    assert glob.glob(osp.join(cwd, 'wd', '*', 'vis_data', 'scalars.json'))


def test_rings_api(ran):
    cwd, out = ran('rings_api')
    assert 'Epoch(val) [2][1/1]' in out and 'accuracy:' in out
    assert osp.isfile(osp.join(cwd, 'wd', 'epoch_2.pth'))


def test_gan_two_optimizer_wrappers(ran):
    cwd, out = ran('gan')
    assert 'loss_disc:' in out and 'loss_gen:' in out
    assert re.search(r'ring distance after training: [\d.]+', out)
    ckpt = torch.load(osp.join(cwd, 'wd', 'iter_20.pth'), weights_only=True)
    assert set(ckpt['optimizer']) == {'generator', 'discriminator'}


def test_iter_based_warmup_cosine_ema_amp(ran):
    cwd, out = ran('iter_based')
    assert 'Iter(train) [10/30]' in out and 'Iter(val) [1/1]' in out and 'Saving checkpoint at 30 iterations' in out
    ckpt = torch.load(osp.join(cwd, 'wd', 'iter_30.pth'), weights_only=True)
    assert 'ema_state_dict' in ckpt
    assert len(ckpt['param_schedulers']) == 2
    lrs = [json.loads(line)['lr'] for line in open(glob.glob(
        osp.join(cwd, 'wd', '*', 'vis_data', 'scalars.json'))[0]) if '"lr"' in line]
    assert lrs[0] < lrs[1] < lrs[4]  # warming up over the first pass (10 iterations)
    assert lrs[-1] < max(lrs)  # then decaying along the cosine


def test_offline_evaluation_matches_online(ran):
    cwd, out = ran('offline_eval')
    online, offline = re.search(r'online accuracy: ([\d.]+)\s+offline accuracy: ([\d.]+)',
                                out).groups()
    assert online == offline
    assert '(1000 dumped predictions)' in out
    assert osp.getsize(osp.join(cwd, 'wd', 'predictions.pkl')) > 0


def test_custom_hook(ran):
    _, out = ran('custom_hook')
    assert re.search(r'best accuracy so far: [\d.]+ \(epoch 2\)', out) or \
        re.search(r'best accuracy so far: [\d.]+ \(epoch 1\)', out)
    assert 'CheckInvalidLossHook' in out  # listed in the hook table


def test_custom_optim_constructor(ran):
    _, out = ran('custom_optim_constructor')
    backbone, head = map(float, re.search(
        r'final learning rates \(backbone, head\): \[([\d.e-]+), ([\d.e-]+)\]', out).groups())
    assert backbone == pytest.approx(0.001) and head == pytest.approx(0.005)


def test_cifar10_resnet50_fake_data(tmp_path):
    pytest.importorskip('torchvision', reason='the CIFAR-10 example needs torchvision')
    proc = subprocess.run(
        [sys.executable, osp.join(EXAMPLES, 'cifar10_resnet50', 'train.py'), '--fake-data',
         '--max-epochs', '1', '--num-samples', '16', '--batch-size', '8',
         '--work-dir', str(tmp_path / 'wd')],
        capture_output=True, text=True, timeout=600, env=dict(os.environ, PYTHONPATH=REPO))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'Epoch(val) [1][2/2]' in proc.stdout and 'accuracy:' in proc.stdout
    assert osp.isfile(tmp_path / 'wd' / 'epoch_1.pth')
