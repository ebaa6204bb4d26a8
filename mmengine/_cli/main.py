"""Argument parsing and dispatch of the ``mmengine`` subcommands.

A bad argument or config prints a one-paragraph error and exits with code 2; ``--debug``
shows the traceback instead.
"""
from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence

from . import commands

EPILOG = """examples:
  mmengine train examples/rings/example_config.py --work-dir work_dirs/rings
  mmengine train examples/rings/example_config.py --resume --cfg-options train_cfg.max_epochs=20
  mmengine test examples/rings/example_config.py work_dirs/rings/epoch_10.pth --out results.pkl
  mmengine config examples/rings/example_config.py --validate
  mmengine plot-lr examples/rings/example_config.py --out lr.png
  mmengine plot-logs work_dirs/rings --keys loss accuracy --out curves.png
  mmengine env

Run `mmengine COMMAND --help` for the options of one command.
"""


def _add_debug(parser: argparse.ArgumentParser) -> None:
    # SUPPRESS: a subcommand's default must not overwrite `mmengine --debug train ...`.
    parser.add_argument('--debug', action='store_true', default=argparse.SUPPRESS,
                        help='show the traceback on errors')


def _add_common(parser: argparse.ArgumentParser, launcher: bool = True) -> None:
    from ..config import DictAction
    _add_debug(parser)
    parser.add_argument('config', help='config file (.py, .json or .yaml)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default=None,
                        metavar='KEY=VALUE',
                        help='override config keys, e.g. train_cfg.max_epochs=20 '
                             'optim_wrapper.optimizer.lr=0.01')
    if launcher:
        parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                            default='none', help='job launcher (default: none)')
        parser.add_argument('--work-dir', help='directory for checkpoints and logs '
                                               '(default: ./work_dirs/<config name>)')


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with one subparser per command."""
    parser = argparse.ArgumentParser(
        prog='mmengine', description='Train, test and inspect MMEngine configs.',
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--debug', action='store_true', help='show tracebacks on errors')
    sub = parser.add_subparsers(dest='command', metavar='COMMAND')
    sub.required = True
    fmt = argparse.RawDescriptionHelpFormatter

    train = sub.add_parser('train', help='train a model from a config', formatter_class=fmt,
                           epilog='example:\n  mmengine train cfg.py --amp --resume')
    _add_common(train)
    train.add_argument('--resume', nargs='?', const='auto', default=None, metavar='CKPT',
                       help='resume from CKPT, or from the latest checkpoint without a path')
    train.add_argument('--amp', action='store_true', help='mixed precision (AmpOptimWrapper)')
    train.add_argument('--auto-scale-lr', action='store_true',
                       help='scale the lr by the real batch size (config auto_scale_lr)')
    train.set_defaults(func=commands.train)

    test = sub.add_parser('test', help='test a checkpoint', formatter_class=fmt,
                          epilog='example:\n  mmengine test cfg.py epoch_10.pth --out preds.pkl')
    _add_common(test)
    test.add_argument('checkpoint', help='checkpoint file to test')
    test.add_argument('--out', help='dump predictions to this pickle file')
    test.set_defaults(func=commands.test)

    config = sub.add_parser('config', help='print or validate the resolved config',
                            formatter_class=fmt,
                            epilog='example:\n  mmengine config cfg.py --validate')
    _add_common(config, launcher=False)
    config.add_argument('--validate', action='store_true',
                        help='build every component without training and report problems')
    config.set_defaults(func=commands.config)

    plot_lr = sub.add_parser('plot-lr', help='plot the schedule a config produces',
                             formatter_class=fmt,
                             epilog='example:\n  mmengine plot-lr cfg.py --param momentum')
    _add_common(plot_lr, launcher=False)
    plot_lr.add_argument('--out', default='lr.png', help='output image (default: lr.png)')
    plot_lr.add_argument('--param', default='lr', choices=['lr', 'momentum', 'weight_decay'],
                         help='which param-group value to plot')
    plot_lr.set_defaults(func=commands.plot_lr)

    plot_logs = sub.add_parser('plot-logs', help='plot curves from a run\'s scalars.json',
                               formatter_class=fmt,
                               epilog='example:\n  mmengine plot-logs work_dirs/x/2024... '
                                      '--keys loss')
    _add_debug(plot_logs)
    plot_logs.add_argument('run_dir', help='a run directory (holding vis_data/scalars.json), '
                                           'a work_dir (its latest run is used) or a '
                                           'scalars.json file')
    plot_logs.add_argument('--keys', nargs='+', default=['loss'], help='scalars to plot')
    plot_logs.add_argument('--out', default='curves.png', help='output image')
    plot_logs.set_defaults(func=commands.plot_logs)

    env = sub.add_parser('env', help='print the environment block', formatter_class=fmt,
                         epilog='example:\n  mmengine env')
    _add_debug(env)
    env.set_defaults(func=commands.env)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (commands.CommandError, FileNotFoundError, KeyError, ValueError, TypeError,
            SyntaxError, ImportError) as exc:
        if args.debug:
            traceback.print_exc()
        else:
            # KeyError's str() is the repr of its message; show the message itself.
            message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
            print(f'mmengine {args.command}: error: {message}\n(run with --debug for the '
                  f'traceback)', file=sys.stderr)
        return 2
