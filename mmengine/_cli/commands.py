"""The bodies of the ``mmengine`` subcommands."""
from __future__ import annotations

import argparse
import glob
import json
import os.path as osp
import sys
from typing import Any


class CommandError(Exception):
    """A user-facing problem with arguments or the config (exit code 2, no traceback)."""


def load_config(args: argparse.Namespace) -> Any:
    """Load ``args.config`` with ``--cfg-options`` applied; the config's folder is importable
    so that ``custom_imports`` can name modules beside it."""
    from ..config import Config
    if not osp.isfile(args.config):
        raise CommandError(f'config file {args.config!r} does not exist.')
    folder = osp.dirname(osp.abspath(args.config))
    if folder not in sys.path:
        sys.path.insert(0, folder)
    cfg = Config.fromfile(args.config)
    if getattr(args, 'cfg_options', None):
        cfg.merge_from_dict(args.cfg_options)
    return cfg


def _set_work_dir(cfg: Any, args: argparse.Namespace) -> None:
    if args.work_dir:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    cfg.launcher = args.launcher


def _require(cfg: Any, command: str, keys: tuple[str, ...]) -> None:
    missing = [key for key in keys if cfg.get(key) is None]
    if missing:
        raise CommandError(f'mmengine {command} needs {", ".join(missing)} in the config, but '
                           f'{cfg.filename or "the config"} does not set '
                           f'{"it" if len(missing) == 1 else "them"}; add '
                           f'{"it" if len(missing) == 1 else "them"} or use '
                           f'--cfg-options.')


def _build_runner(cfg: Any) -> Any:
    from ..registry import RUNNERS
    from ..runner import Runner
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)


def _enable_amp(cfg: Any) -> None:
    optim_wrapper = cfg.get('optim_wrapper')
    if optim_wrapper is None:
        raise CommandError('--amp needs an optim_wrapper in the config.')
    if optim_wrapper.get('type', 'OptimWrapper') == 'AmpOptimWrapper':
        print('mmengine train: the config already uses AmpOptimWrapper; --amp changes nothing.',
              file=sys.stderr)
        return
    optim_wrapper.type = 'AmpOptimWrapper'
    optim_wrapper.setdefault('loss_scale', 'dynamic')


def train(args: argparse.Namespace) -> int:
    """``mmengine train``: the downstream ``tools/train.py`` behaviour."""
    cfg = load_config(args)
    _set_work_dir(cfg, args)
    if args.amp:
        _enable_amp(cfg)
    if args.auto_scale_lr:
        scale = cfg.get('auto_scale_lr')
        if not scale or 'base_batch_size' not in scale:
            raise CommandError('--auto-scale-lr needs auto_scale_lr=dict(base_batch_size=...) '
                               'in the config.')
        scale.enable = True
    _require(cfg, 'train', ('train_dataloader', 'train_cfg', 'optim_wrapper'))
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    _build_runner(cfg).train()
    return 0


def test(args: argparse.Namespace) -> int:
    """``mmengine test``: run the test loop on a checkpoint, optionally dumping predictions."""
    cfg = load_config(args)
    _set_work_dir(cfg, args)
    if not osp.isfile(args.checkpoint):
        raise CommandError(f'checkpoint {args.checkpoint!r} does not exist.')
    cfg.load_from = args.checkpoint
    _require(cfg, 'test', ('test_dataloader', 'test_evaluator'))
    if args.out:
        if not args.out.endswith(('.pkl', '.pickle')):
            raise CommandError(f'--out must be a .pkl file, but got {args.out!r}.')
        evaluators = cfg.get('test_evaluator')
        evaluators = list(evaluators) if isinstance(evaluators, (list, tuple)) else (
            [evaluators] if evaluators is not None else [])
        evaluators.append(dict(type='DumpResults', out_file_path=args.out))
        cfg.test_evaluator = evaluators
    metrics = _build_runner(cfg).test()
    print(json.dumps({k: _number(v) for k, v in (metrics or {}).items()}, indent=2))
    return 0


def _number(value: Any) -> Any:
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


def config(args: argparse.Namespace) -> int:
    """``mmengine config``: print the resolved config, or validate it."""
    cfg = load_config(args)
    if not args.validate:
        print(cfg.pretty_text)
        return 0
    from ..runner._validate import validate_config
    problems = validate_config(cfg)
    if not problems:
        print(f'{args.config}: no problems found.')
        return 0
    print(f'{args.config}: {len(problems)} problem(s):', file=sys.stderr)
    for problem in problems:
        print(f'  - {problem}', file=sys.stderr)
    return 2


def plot_lr(args: argparse.Namespace) -> int:
    """``mmengine plot-lr``: draw the schedule the config produces, without training."""
    from .plots import plot_schedule, simulate_schedule
    cfg = load_config(args)
    steps, values, epoch_length = simulate_schedule(cfg, args.param)
    plot_schedule(steps, values, epoch_length, args.param, args.out)
    print(f'wrote {args.out} ({len(steps)} iterations)')
    return 0


def plot_logs(args: argparse.Namespace) -> int:
    """``mmengine plot-logs``: draw curves of scalars from ``vis_data/scalars.json``."""
    from .plots import plot_scalars, read_scalars
    path = _find_scalars(args.run_dir)
    if not osp.isfile(path):
        raise CommandError(f'{path!r} does not exist; pass a run directory '
                           f'(work_dir/<timestamp>) or a scalars.json file.')
    series = read_scalars(path, args.keys)
    plot_scalars(series, args.out)
    print(f'read {path}')
    print(f'wrote {args.out} ({", ".join(f"{k}: {len(v)} points" for k, v in series.items())})')
    return 0


def _find_scalars(path: str) -> str:
    """The scalars.json of a run directory, or of the latest run in a work_dir."""
    if not osp.isdir(path):
        return path
    own = osp.join(path, 'vis_data', 'scalars.json')
    if osp.isfile(own):
        return own
    # A work_dir holds one timestamped run directory per run; their names sort by time.
    runs = sorted(glob.glob(osp.join(path, '*', 'vis_data', 'scalars.json')))
    return runs[-1] if runs else own


def env(args: argparse.Namespace) -> int:
    """``mmengine env``: print the environment block shown at the start of training logs."""
    from ..utils.dl_utils import collect_env
    for key, value in collect_env().items():
        print(f'{key}: {value}')
    return 0


__all__ = ['train', 'test', 'config', 'plot_lr', 'plot_logs', 'env', 'CommandError']
