"""Shared machinery of the benchmark suite: alternating subprocess runs and the report table.

Every benchmark script has two roles:

* the **driver** (what a user runs): it starts fresh ``python <script> --worker <variant>``
  subprocesses, alternating the variants (plain, ours, plain, ours, ... and lightning when it
  is installed), measures each child's whole-process wall time and peak RSS (``os.wait4``
  returns the child's own ``rusage``), collects the figures the child prints, and prints
  medians, min-max and the ratio ours/plain per figure;
* the **worker** (``--worker NAME``): runs one variant of the workload and reports its inner
  figures with :func:`report`.

Nothing here imports ``mmengine``, so the plain workers never pay for it.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from typing import Any

RESULT_TAG = 'BENCH_RESULT '
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


# ---------------------------------------------------------------------------- worker side
def report(**figures: Any) -> None:
    """Print the worker's figures as one tagged JSON line the driver picks up."""
    sys.stdout.flush()
    print(RESULT_TAG + json.dumps(figures), flush=True)


def apply_threads() -> None:
    """Honour ``BENCH_THREADS`` (set by the driver's ``--threads``) in a worker."""
    threads = os.environ.get('BENCH_THREADS')
    if threads:
        import torch
        torch.set_num_threads(int(threads))


def peak_rss_mib() -> float:
    """This process's peak resident set size so far, in MiB (Linux reports KiB)."""
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mib() -> float:
    """This process's current resident set size in MiB (from /proc, 0 where unavailable)."""
    try:
        with open('/proc/self/statm') as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf('SC_PAGE_SIZE') / 2**20
    except (OSError, ValueError):
        return 0.0


def lightning_module() -> str | None:
    """The importable Lightning package name (``lightning`` or ``pytorch_lightning``), if any."""
    for name in ('lightning', 'pytorch_lightning'):
        if importlib.util.find_spec(name) is not None:
            return name
    return None


# ---------------------------------------------------------------------------- driver side
def base_parser(description: str, runs: int = 5) -> argparse.ArgumentParser:
    """Arguments every benchmark driver accepts (plus the hidden worker switches)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('--runs', type=int, default=runs,
                        help='alternating runs per variant (medians are reported)')
    parser.add_argument('--warmup', type=int, default=1,
                        help='uncounted alternating rounds first (file cache, pyc)')
    parser.add_argument('--threads', type=int, default=None,
                        help='torch.set_num_threads in every worker (default: torch default)')
    parser.add_argument('--no-lightning', action='store_true',
                        help='skip the Lightning variant even when it is installed')
    parser.add_argument('--json', metavar='PATH', help='also write the summary as JSON')
    parser.add_argument('--pyc-prefix', metavar='DIR',
                        help='let the workers cache bytecode under DIR (unsets '
                             'PYTHONDONTWRITEBYTECODE): what a normal install sees')
    parser.add_argument('--worker', help=argparse.SUPPRESS)
    parser.add_argument('--workdir', help=argparse.SUPPRESS)
    return parser


def variants(args: argparse.Namespace, lightning_ok: bool = True) -> list[str]:
    """``['plain', 'ours']`` plus ``'lightning'`` when installed and supported here."""
    names = ['plain', 'ours']
    if lightning_ok and not args.no_lightning:
        if lightning_module() is not None:
            names.append('lightning')
        else:
            print('# Lightning is not installed: variant (c) skipped.')
    return names


def run_child(script: str, worker: str, extra: Sequence[str] = (),
              env: dict[str, str | None] | None = None, timeout: float = 3600,
              prefix: Sequence[str] = ()) -> dict[str, Any]:
    """Run ``python script --worker worker`` in a fresh process and measure it.

    ``prefix`` goes before the interpreter on the command line (e.g. a valgrind command).

    Returns:
        ``wall_s`` (spawn to exit), ``peak_rss_mib`` (the child's own ``ru_maxrss``),
        ``spawn_time`` (``time.time()`` just before the spawn, so a child can report times
        "since process start"), and ``result``: the child's reported figures.
    """
    workdir = tempfile.mkdtemp(prefix=f'bench_{worker}_')
    child_env = dict(os.environ)
    for key, value in (env or {}).items():  # a None value removes the variable
        if value is None:
            child_env.pop(key, None)
        else:
            child_env[key] = value
    child_env.setdefault('PYTHONUNBUFFERED', '1')
    out_path = os.path.join(workdir, 'stdout.txt')
    argv = [*prefix, sys.executable, script, '--worker', worker, '--workdir', workdir, *extra]
    try:
        with open(out_path, 'w') as out:
            spawn_time = time.time()
            start = time.perf_counter()
            proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=workdir,
                                    env=child_env)
            _, status, usage = _wait4(proc, timeout)
            wall = time.perf_counter() - start
        with open(out_path) as f:
            text = f.read()
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            raise RuntimeError(f'worker {worker!r} of {script} exited with {code}:\n'
                               f'{text[-3000:]}')
        lines = [ln for ln in text.splitlines() if ln.startswith(RESULT_TAG)]
        result: dict[str, Any] = {}
        for line in lines:  # a worker may report in several lines
            result.update(json.loads(line[len(RESULT_TAG):]))
        return dict(wall_s=wall, peak_rss_mib=usage.ru_maxrss / 1024, spawn_time=spawn_time,
                    user_s=usage.ru_utime, sys_s=usage.ru_stime, result=result)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def callgrind_run(script: str, worker: str, extra: Sequence[str], env: dict[str, str | None],
                  out_dir: str, window: str | None = None,
                  simulate: bool = False) -> dict[str, int]:
    """Run a worker under valgrind's callgrind; return its event totals (``'Ir'``: instructions).

    Without ``window``, the whole process is counted (every thread). With ``window``, the
    count starts switched off and the worker switches it on and off itself (through
    ``CALLGRIND_START/STOP_INSTRUMENTATION``); the dump it writes with ``window`` as its
    trigger is read. ``PYTHONHASHSEED`` is fixed so that two runs execute the same
    instructions (to within 0.1 %). ``simulate`` adds callgrind's cache and branch-predictor
    simulation: the events ``I1mr D1mr D1mw`` (first-level misses), ``ILmr DLmr DLmw``
    (last-level misses) and ``Bcm Bim`` (mispredicted conditional and indirect branches).
    """
    valgrind = shutil.which('valgrind')
    if valgrind is None:
        sys.exit('--instructions needs valgrind on PATH (e.g. `apt install valgrind`).')
    prefix = [valgrind, '--tool=callgrind',
              f'--callgrind-out-file={os.path.join(out_dir, f"cg.{worker}.%p")}']
    if window is not None:
        prefix.insert(2, '--instr-atstart=no')
    if simulate:
        prefix[2:2] = ['--cache-sim=yes', '--branch-sim=yes']
    run_child(script, worker, extra, {**env, 'PYTHONHASHSEED': '0'}, prefix=prefix)
    found = []
    for name in sorted(os.listdir(out_dir)):
        if not name.startswith(f'cg.{worker}.'):
            continue
        with open(os.path.join(out_dir, name)) as file:
            lines = file.read().splitlines()
        trigger = next((line for line in lines if line.startswith('desc: Trigger:')), '')
        if window is not None and window not in trigger:
            continue
        events = next((line.split()[1:] for line in lines if line.startswith('events:')), [])
        found += [dict(zip(events, map(int, line.split()[1:])))
                  for line in lines if line.startswith('totals:')]
    if len(found) != 1:
        sys.exit(f'expected one callgrind count for {worker}, found {len(found)} in {out_dir}')
    return found[0]


FIRST_LEVEL_MISSES = ('I1mr', 'D1mr', 'D1mw')
LAST_LEVEL_MISSES = ('ILmr', 'DLmr', 'DLmw')
MISPREDICTED = ('Bcm', 'Bim')


def event_total(events: dict[str, int], names: Sequence[str]) -> int:
    """The sum of the callgrind events ``names`` (0 for those not recorded)."""
    return sum(events.get(name, 0) for name in names)


def estimated_cycles(events: dict[str, int]) -> float:
    """A cycle estimate from simulated events: instructions + 10 per first-level cache miss
    + 100 per last-level miss + 20 per mispredicted branch (rough costs on a current x86 core;
    the model, not the machine, fixes them, so the figure is as deterministic as the counts)."""
    return (events.get('Ir', 0) + 10 * event_total(events, FIRST_LEVEL_MISSES)
            + 100 * event_total(events, LAST_LEVEL_MISSES)
            + 20 * event_total(events, MISPREDICTED))


def _wait4(proc: subprocess.Popen, timeout: float) -> tuple[int, int, Any]:
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)  # keep Popen from re-waiting
            return pid, status, usage
        if time.monotonic() > deadline:
            proc.kill()
            os.wait4(proc.pid, 0)
            raise TimeoutError(f'{proc.args} ran longer than {timeout} s')
        time.sleep(0.005)


def alternate(script: str, names: Sequence[str], args: argparse.Namespace,
              extra: Callable[[str], Sequence[str]] | Sequence[str] = (),
              env: dict[str, str | None] | None = None) -> dict[str, list[dict]]:
    """Run every variant ``args.runs`` times, interleaved (a, b, a, b, ...), after warm-ups."""
    env = dict(env or {})
    if getattr(args, 'pyc_prefix', None):
        env.update(PYTHONDONTWRITEBYTECODE=None, PYTHONPYCACHEPREFIX=args.pyc_prefix)
    elif os.environ.get('PYTHONDONTWRITEBYTECODE'):
        print('# PYTHONDONTWRITEBYTECODE is set: every module is compiled from source at each '
              'import (use --pyc-prefix DIR to measure with a bytecode cache)', flush=True)
    if args.threads:
        env.update(BENCH_THREADS=str(args.threads), OMP_NUM_THREADS=str(args.threads),
                   MKL_NUM_THREADS=str(args.threads))
    runs: dict[str, list[dict]] = {name: [] for name in names}
    rounds = args.warmup + args.runs
    for round_idx in range(rounds):
        # Reverse the order every other round so neither variant always runs first.
        order = list(names) if round_idx % 2 == 0 else list(reversed(names))
        for name in order:
            argv = extra(name) if callable(extra) else extra
            run = run_child(script, name, argv, env)
            tag = 'warm-up' if round_idx < args.warmup else f'run {round_idx - args.warmup + 1}'
            print(f'#   {tag:8} {name:9} wall {run["wall_s"]:8.3f} s  '
                  f'rss {run["peak_rss_mib"]:7.1f} MiB  load {os.getloadavg()[0]:.2f}',
                  flush=True)
            if round_idx >= args.warmup:
                runs[name].append(run)
    return runs


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    import torch  # the driver may import torch; only workers are timed
    cpu = platform.processor() or platform.machine()
    try:
        with open('/proc/cpuinfo') as f:
            cpu = next(ln.split(':', 1)[1].strip() for ln in f if ln.startswith('model name'))
    except (OSError, StopIteration):
        pass
    return dict(cpu=cpu, cores=os.cpu_count(), python=platform.python_version(),
                torch=torch.__version__, platform=platform.platform(),
                load_avg=[round(x, 2) for x in os.getloadavg()])


class Table:
    """Collects figures ``{variant: [values]}`` and prints median, min-max, ratio to plain."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.rows: list[dict[str, Any]] = []

    def add(self, figure: str, unit: str, values: dict[str, list[float]],
            baseline: str = 'plain', note: str = '') -> dict[str, Any]:
        """Add a figure; returns its summary (medians, ranges, ratios to ``baseline``)."""
        row: dict[str, Any] = dict(figure=figure, unit=unit, note=note, variants={})
        base = values.get(baseline)
        base_median = statistics.median(base) if base else None
        for name, vals in values.items():
            if not vals:
                continue
            median = statistics.median(vals)
            entry = dict(median=median, min=min(vals), max=max(vals), n=len(vals))
            if base_median and name != baseline:
                entry['ratio'] = median / base_median
            row['variants'][name] = entry
        self.rows.append(row)
        return row

    def print(self) -> None:
        """Print the table."""
        print(f'\n== {self.title} ==')
        print(f'{"figure":44} {"variant":10} {"median":>12} {"min - max":>25} {"ratio":>7}')
        for row in self.rows:
            for name, e in row['variants'].items():
                ratio = f'{e["ratio"]:.3f}' if 'ratio' in e else ''
                span = f'{_fmt(e["min"])} - {_fmt(e["max"])}'
                label = f'{row["figure"]} [{row["unit"]}]'
                print(f'{label:44} {name:10} {_fmt(e["median"]):>12} {span:>25} {ratio:>7}')
            if row['note']:
                print(f'{"":44} {row["note"]}')

    def dump(self, path: str | None, **extra: Any) -> None:
        """Write the table (and ``extra``) as JSON when ``path`` is given."""
        if path:
            with open(path, 'w') as f:
                json.dump(dict(title=self.title, rows=self.rows, **extra), f, indent=2)


def _fmt(value: float) -> str:
    if abs(value) >= 100:
        return f'{value:.1f}'
    if abs(value) >= 1:
        return f'{value:.3f}'
    return f'{value:.4f}'


def collect(runs: dict[str, list[dict]], key: str) -> dict[str, list[float]]:
    """``{variant: [run[key] or run['result'][key]]}`` over the variants that reported it."""
    out: dict[str, list[float]] = {}
    for name, items in runs.items():
        vals = [r[key] if key in r else r['result'].get(key) for r in items]
        vals = [v for v in vals if v is not None]
        if vals:
            out[name] = vals
    return out


def header(title: str, args: argparse.Namespace) -> dict[str, Any]:
    """Print what is measured where, and return the machine description."""
    info = machine()
    print(f'# {title}')
    print(f'# machine: {info["cpu"]}, {info["cores"]} cores, python {info["python"]}, '
          f'torch {info["torch"]}; load average {info["load_avg"]}')
    print(f'# runs per variant: {args.runs} (+{args.warmup} warm-up), threads: '
          f'{args.threads or "torch default"}; command: python {" ".join(sys.argv)}', flush=True)
    return info
