"""A process that imports torch and mmengine once, then forks one child per job.

Fault-injection tests need real processes (SIGKILL, signals, exit codes), but a fresh
interpreter spends seconds importing torch. The zygote pays that once: each job is a fork of
it, a separate process that can be killed. The zygote itself runs no torch computation, so
forked children start with clean thread pools.

Protocol (one JSON object per line on stdin/stdout):
    {"op": "start", "fn": "module:function", "kwargs": {...}, "log": path}  -> {"pid": int}
    {"op": "wait", "pid": int, "timeout": seconds}  -> {"rc": int, "timed_out": bool}
A child's exit status is its ``SystemExit`` code (0 on return, 1 on an exception), or
``-signum`` when a signal killed it.
"""
from __future__ import annotations

import importlib
import json
import os
import signal
import sys
import time
import traceback

import torch  # noqa: F401 - imported once here, inherited by every child
import torch._inductor  # noqa: F401 - torch.use_deterministic_algorithms imports it (seconds)

import mmengine.runner  # noqa: F401


def _child(request: dict) -> None:
    log = os.open(request['log'], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(0)
    for signum in (signal.SIGTERM, signal.SIGUSR1, signal.SIGINT):
        signal.signal(signum, signal.SIG_DFL)
    code = 0
    try:
        module, name = request['fn'].split(':')
        getattr(importlib.import_module(module), name)(**request.get('kwargs', {}))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _wait(pid: int, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return {'rc': os.waitstatus_to_exitcode(status), 'timed_out': False}
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return {'rc': -9, 'timed_out': True}
        time.sleep(0.02)


def main() -> None:
    sys.path.insert(0, os.getcwd())
    for line in sys.stdin:
        request = json.loads(line)
        if request['op'] == 'start':
            pid = os.fork()
            if pid == 0:
                _child(request)
            reply = {'pid': pid}
        else:
            reply = _wait(request['pid'], request['timeout'])
        sys.stdout.write(json.dumps(reply) + '\n')
        sys.stdout.flush()


if __name__ == '__main__':
    main()
