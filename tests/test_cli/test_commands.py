"""The ``mmengine`` command line, driven through subprocesses (exit codes, output, files).

Each subprocess pays the import of torch, so the expensive ones are few: one training run of
the small rings config is shared (module scope) by the test, plot-logs and resume checks.
Argument handling that does not need a separate process is checked in-process.
"""
from __future__ import annotations

import json
import os
import os.path as osp
import pickle
import shutil
import subprocess
import sys

import pytest

from mmengine._cli import commands, main

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = osp.join(REPO, 'tests', 'test_cli', 'configs')
SMALL = osp.join(CONFIGS, 'rings_small.py')


def run_cli(*args: str, cwd: str, console_script: bool = False) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [osp.join(REPO, 'examples', 'rings'), REPO, os.environ.get('PYTHONPATH', '')]))
    exe = shutil.which('mmengine') if console_script else None
    cmd = [exe, *args] if exe else [sys.executable, '-m', 'mmengine', *args]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """One epoch of the small rings config; returns (cwd, work_dir, completed process)."""
    cwd = tmp_path_factory.mktemp('cli')
    work_dir = osp.join(cwd, 'wd')
    proc = run_cli('train', SMALL, '--work-dir', work_dir, cwd=str(cwd))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return str(cwd), work_dir, proc


def test_train_writes_checkpoint_logs_and_scalars(trained):
    _, work_dir, proc = trained
    assert 'Epoch(train) [1][2/8]' in proc.stdout
    assert 'Epoch(val) [1][2/2]' in proc.stdout and 'accuracy:' in proc.stdout
    assert osp.isfile(osp.join(work_dir, 'epoch_1.pth'))
    assert open(osp.join(work_dir, 'last_checkpoint')).read().strip().endswith('epoch_1.pth')
    runs = [d for d in os.listdir(work_dir) if osp.isdir(osp.join(work_dir, d))]
    assert len(runs) == 1
    assert osp.isfile(osp.join(work_dir, runs[0], f'{runs[0]}.log'))
    assert osp.isfile(osp.join(work_dir, runs[0], 'vis_data', 'scalars.json'))


def test_test_prints_metrics_and_dumps_predictions(trained):
    cwd, work_dir, _ = trained
    proc = run_cli('test', SMALL, osp.join(work_dir, 'epoch_1.pth'), '--work-dir', 'test_wd',
                   '--out', 'preds.pkl', cwd=cwd, console_script=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    metrics = json.loads(proc.stdout[proc.stdout.rindex('{'):])
    assert 50 < metrics['accuracy'] <= 100
    with open(osp.join(cwd, 'preds.pkl'), 'rb') as file:
        preds = pickle.load(file)
    # DumpResults extends its list with each batch's outputs: (scores, labels) per batch
    assert len(preds) == 4
    assert tuple(preds[0].shape) == (100, 2) and tuple(preds[1].shape) == (100, )


def test_plot_logs_plots_the_scalars(trained):
    cwd, work_dir, _ = trained
    proc = run_cli('plot-logs', work_dir, '--keys', 'loss', 'accuracy', '--out', 'c.png',
                   cwd=cwd)
    assert proc.returncode == 0, proc.stderr[-3000:]
    run = next(d for d in os.listdir(work_dir) if osp.isdir(osp.join(work_dir, d)))
    with open(osp.join(work_dir, run, 'vis_data', 'scalars.json')) as file:
        records = [json.loads(line) for line in file if line.strip()]
    n_loss = sum('loss' in r for r in records)
    assert n_loss == 4  # 8 iterations logged every 2
    assert f'loss: {n_loss} points' in proc.stdout and 'accuracy: 1 points' in proc.stdout
    assert osp.getsize(osp.join(cwd, 'c.png')) > 1000


def test_plot_lr_draws_whole_schedule(tmp_path):
    proc = run_cli('plot-lr', SMALL, '--out', 'lr.png', '--cfg-options',
                   'train_cfg.max_epochs=6', cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'wrote lr.png (48 iterations)' in proc.stdout  # 6 epochs x 8 iterations
    assert osp.getsize(tmp_path / 'lr.png') > 1000


def test_validate_reports_every_problem_without_traceback(tmp_path):
    proc = run_cli('config', osp.join(CONFIGS, 'invalid.py'), '--validate', cwd=str(tmp_path))
    assert proc.returncode == 2
    assert '2 problem(s)' in proc.stderr
    assert "model.type: 'MyAwesomeModle'" in proc.stderr and 'MyAwesomeModel' in proc.stderr
    assert 'train_dataloader.sampler.shufle' in proc.stderr
    assert 'Traceback' not in proc.stderr


# ---- in-process: parsing, error paths and the mapping of flags onto the config ----------

@pytest.fixture
def captured(monkeypatch):
    """Replace the runner by a recorder of the config it would have been built from."""
    seen = {}

    class FakeRunner:
        def train(self):
            return None

        def test(self):
            return {'accuracy': 90.0}

    def fake_build(cfg):
        seen['cfg'] = cfg
        return FakeRunner()

    monkeypatch.syspath_prepend(osp.join(REPO, 'examples', 'rings'))
    monkeypatch.setattr(commands, '_build_runner', fake_build)
    return seen


def test_train_flags_map_onto_config(captured, tmp_path):
    assert main(['train', SMALL]) == 0
    cfg = captured['cfg']
    assert cfg.work_dir == 'exp/my_awesome_model'  # the config's own work_dir is kept
    assert cfg.launcher == 'none' and not cfg.resume
    no_work_dir = tmp_path / 'my_exp.py'
    no_work_dir.write_text(f'_base_ = [{SMALL!r}]\nwork_dir = None\n')
    assert main(['train', str(no_work_dir)]) == 0
    assert captured['cfg'].work_dir == osp.join('./work_dirs', 'my_exp')
    assert main(['train', SMALL, '--work-dir', 'elsewhere']) == 0
    assert captured['cfg'].work_dir == 'elsewhere'
    assert main(['train', SMALL, '--amp', '--resume', '--launcher', 'pytorch']) == 0
    cfg = captured['cfg']
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.resume is True and cfg.load_from is None and cfg.launcher == 'pytorch'
    assert main(['train', SMALL, '--resume', 'x.pth', '--cfg-options',
                 'auto_scale_lr.base_batch_size=32', '--auto-scale-lr']) == 0
    cfg = captured['cfg']
    assert cfg.resume is True and cfg.load_from == 'x.pth'
    assert cfg.auto_scale_lr.enable is True and cfg.auto_scale_lr.base_batch_size == 32


@pytest.mark.parametrize('argv, expected', [
    (['train', 'missing.py'], "config file 'missing.py' does not exist"),
    (['train', SMALL, '--auto-scale-lr'], 'needs auto_scale_lr=dict(base_batch_size'),
    (['test', SMALL, 'nope.pth'], "checkpoint 'nope.pth' does not exist"),
    (['plot-logs', '.', '--keys', 'loss'], 'does not exist'),
])
def test_errors_are_one_paragraph_exit_2(captured, capsys, argv, expected):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert expected in err
    assert 'Traceback' not in err and '--debug' in err


def test_test_needs_a_test_split(captured, capsys, tmp_path):
    ckpt = tmp_path / 'x.pth'
    ckpt.write_bytes(b'')
    assert main(['test', osp.join(REPO, 'examples', 'rings', 'example_config.py'),
                 str(ckpt)]) == 2
    assert 'needs test_dataloader, test_evaluator' in capsys.readouterr().err


def test_debug_shows_traceback(captured, capsys):
    assert main(['train', 'missing.py', '--debug']) == 2
    assert 'Traceback' in capsys.readouterr().err


def test_bad_arguments_and_help(capsys):
    for argv in (['train', SMALL, '--no-such-flag'], ['config', SMALL, '--cfg-options', 'foo'],
                 ['plot-lr', SMALL, '--param', 'beta']):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2
        assert 'error:' in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main([])
    assert exc.value.code == 2
    for command in ('train', 'test', 'config', 'plot-lr', 'plot-logs', 'env'):
        with pytest.raises(SystemExit) as exc:
            main([command, '--help'])
        assert exc.value.code == 0
        assert 'example' in capsys.readouterr().out


def test_env_and_config_print(captured, capsys):
    assert main(['env']) == 0
    out = capsys.readouterr().out
    assert 'PyTorch' in out and 'MMEngine' in out
    assert main(['config', SMALL, '--cfg-options', 'train_cfg.max_epochs=3']) == 0
    out = capsys.readouterr().out
    assert "type='MyAwesomeModel'" in out and 'max_epochs=3' in out
