"""Run several example programs in one interpreter (one torch import for all of them).

Usage: python _run_examples.py OUT_DIR NAME=SCRIPT ARG... [--- NAME=SCRIPT ARG...]

Each example runs as ``__main__`` with its own ``sys.argv``, in ``OUT_DIR/NAME`` as working
directory, with fresh global instances (logger, message hub, visualizer). Its stdout/stderr
go to ``OUT_DIR/NAME/output.txt``; ``OUT_DIR/results.json`` maps each name to ``"ok"`` or the
traceback.
"""
from __future__ import annotations

import contextlib
import json
import os
import runpy
import sys
import traceback


def _reset_instances() -> None:
    from mmengine.utils.manager import ManagerMixin
    pending = [ManagerMixin]
    while pending:
        cls = pending.pop()
        cls._instance_dict.clear()
        pending.extend(cls.__subclasses__())


def run_one(out_dir: str, name: str, script: str, args: list[str]) -> str:
    cwd = os.path.join(out_dir, name)
    os.makedirs(cwd, exist_ok=True)
    saved_argv, saved_path, saved_cwd = sys.argv[:], sys.path[:], os.getcwd()
    os.chdir(cwd)
    sys.argv = [script, *args]
    try:
        with open('output.txt', 'w') as out, contextlib.redirect_stdout(out), \
                contextlib.redirect_stderr(out):
            _reset_instances()
            try:
                runpy.run_path(script, run_name='__main__')
            except BaseException:  # SystemExit included: an example must not exit
                return traceback.format_exc()
        return 'ok'
    finally:
        os.chdir(saved_cwd)
        sys.argv, sys.path[:] = saved_argv, saved_path


def main() -> None:
    out_dir, rest = sys.argv[1], sys.argv[2:]
    jobs, current = [], None
    for token in rest:
        if token == '---':
            current = None
        elif current is None:
            name, script = token.split('=', 1)
            current = (name, os.path.abspath(script), [])
            jobs.append(current)
        else:
            current[2].append(token)
    results = {name: run_one(out_dir, name, script, args) for name, script, args in jobs}
    with open(os.path.join(out_dir, 'results.json'), 'w') as file:
        json.dump(results, file, indent=1)


if __name__ == '__main__':
    main()
