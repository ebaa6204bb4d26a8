"""Per-iteration framework overhead on a degenerate step, plain loop vs ours, per hook.

    python benchmarks/bench_overhead.py --runs 5 [--iters 20000] [--threads 1]
        [--profile-hooks] [--bare] [--cprofile] [--count-calls]
        [--instructions [--cache-sim] [--window N]]

The workload: a ``Linear(2, 2)`` model, batch size 1, Adam, ``--iters`` iterations (one
epoch of a shuffled 2-feature dataset), cross-entropy loss. The plain loop prints the loss
(``loss.item()``) and lr every 10 iterations and saves model + optimizer at the end of the
epoch, which is what ours does with its default hooks (LoggerHook interval 10, CheckpointHook
interval 1 epoch). Ours builds the dataloader from a config (``DefaultSampler``,
``default_collate``) as a config file would.

Figures: the training loop's time per iteration in each variant (``runner.train()`` vs the
plain loop, setup excluded) and their difference (the overhead, in microseconds); the
whole-process wall time and its ratio. ``--profile-hooks`` adds one separate run of ours in
which every hook stage method, ``call_hook`` dispatch, the data preprocessor, the model
forward and ``optim_wrapper.update_params`` are timed, reported in microseconds per
iteration. ``--bare`` adds a variant of ours with every default hook removed. ``--cprofile``
adds a cProfile run of ours and prints the functions with the most own time.
``--count-calls`` adds one run of each variant that counts the Python function calls per
iteration (main thread, first iteration to the end of the loop): a deterministic figure
where the timings of this shared machine are too noisy to show small changes.

``--instructions`` replaces the timed runs by one run of each variant under valgrind's
callgrind, which counts the machine instructions the process executes during iterations
``[50, 50 + N)`` (``--window N``, default 500; log lines included, one every 10
iterations). The count does not depend on the machine's load or clock, so it shows changes
of a few percent that the timings cannot; it does not include cache misses, so it
understates what a cold instruction cache costs. ``--cache-sim`` adds callgrind's cache and
branch-predictor simulation (about twice as slow): misses and mispredicted branches per
iteration, and an estimated cycle count that weighs them in, which tracks the timed
overhead better than instructions alone (the interpreter's bytecode dispatch mispredicts).
Needs valgrind, its ``callgrind.h`` header and a C compiler (to build the two-function
library that switches the counting on and off); each run takes about a minute.
"""
from __future__ import annotations

import ctypes
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from typing import Any

import _common


def _data(n: int) -> Any:
    import torch
    from torch.utils.data import TensorDataset
    g = torch.Generator().manual_seed(0)
    tensors = (torch.randn(n, 2, generator=g), torch.randint(0, 2, (n,), generator=g))
    window = _InstructionWindow.from_env()
    if window is None:
        return TensorDataset(*tensors)

    class Ticking(TensorDataset):
        """Marks the start of each iteration (batch size 1: one sample per iteration) in
        both variants alike."""

        def __getitem__(self, index: int) -> Any:
            window.tick()
            return super().__getitem__(index)

    return Ticking(*tensors)


_CG_SOURCE = r"""
#include <valgrind/callgrind.h>
void cg_start(void) { CALLGRIND_ZERO_STATS; CALLGRIND_START_INSTRUMENTATION; }
void cg_stop(void) { CALLGRIND_STOP_INSTRUMENTATION; CALLGRIND_DUMP_STATS_AT("window"); }
"""


class _InstructionWindow:
    """Callgrind counts only iterations ``[start, stop)`` of a worker (``--instructions``).

    The driver sets ``BENCH_INSTRUCTIONS=start,count`` and ``BENCH_CG_LIB`` (the compiled
    ``_CG_SOURCE``); the worker's dataset calls :meth:`tick` once per iteration.
    """

    def __init__(self, start: int, count: int, library: str) -> None:
        self.start, self.stop = start, start + count
        self.library = ctypes.CDLL(library)
        self.seen = 0

    @classmethod
    def from_env(cls) -> _InstructionWindow | None:
        spec = os.environ.get('BENCH_INSTRUCTIONS')
        if not spec:
            return None
        start, count = (int(part) for part in spec.split(','))
        return cls(start, count, os.environ['BENCH_CG_LIB'])

    def tick(self) -> None:
        if self.seen == self.start:
            self.library.cg_start()
        elif self.seen == self.stop:
            self.library.cg_stop()
        self.seen += 1


class _CallCounter:
    """Counts Python-level function calls in this thread (``BENCH_COUNT_CALLS``): a
    deterministic proxy for the per-iteration cost, which the timings are too noisy to show
    for small changes."""

    def __init__(self) -> None:
        self.calls = 0
        self.enabled = bool(os.environ.get('BENCH_COUNT_CALLS'))

    def _count(self, frame: Any, event: str, arg: Any) -> None:
        if event == 'call':
            self.calls += 1

    def start(self) -> None:
        if self.enabled:
            sys.setprofile(self._count)

    def stop(self) -> int | None:
        if not self.enabled:
            return None
        sys.setprofile(None)
        return self.calls


# ---------------------------------------------------------------------------- plain
def plain_main(args: Any) -> None:
    """Hand-written loop."""
    import torch
    import torch.nn.functional as F
    from torch.utils.data import DataLoader
    _common.apply_threads()
    loader = DataLoader(_data(args.iters), batch_size=1, shuffle=True, num_workers=0)
    model = torch.nn.Linear(2, 2)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.001)
    model.train()
    first = None
    counter = _CallCounter()
    for i, (x, y) in enumerate(loader):
        if first is None:
            first = time.time()
            start, cpu_start = time.perf_counter(), time.thread_time()
            counter.start()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        if (i + 1) % 10 == 0:
            print(f'Epoch(train) [1][{i + 1}/{len(loader)}] '
                  f'lr: {optimizer.param_groups[0]["lr"]:.4e} loss: {loss.item():.4f}')
    torch.save({'state_dict': model.state_dict(), 'optimizer': optimizer.state_dict()},
               os.path.join(args.workdir, 'epoch_1.pth'))
    calls = counter.stop()
    train_s, cpu_s = time.perf_counter() - start, time.thread_time() - cpu_start
    _common.report(train_s=train_s, train_cpu_s=cpu_s, first_iter_time=first, calls=calls)


# ---------------------------------------------------------------------------- ours
def _ours_runner(args: Any, bare: bool = False, dataset: Any = None) -> Any:
    """The benchmark's Runner (over ``dataset``, ``--iters`` samples of ``_data`` by default)."""
    import torch
    import torch.nn.functional as F

    from mmengine.model import BaseModel
    from mmengine.runner import Runner

    class Tiny(BaseModel):
        def __init__(self) -> None:
            super().__init__()
            self.linear = torch.nn.Linear(2, 2)

        def forward(self, x: Any, y: Any, mode: str = 'tensor') -> Any:
            out = self.linear(x)
            if mode == 'loss':
                return {'loss': F.cross_entropy(out, y)}
            return out

    hooks = None
    if bare:
        hooks = dict(runtime_info=None, timer=None, sampler_seed=None, logger=None,
                     param_scheduler=None, checkpoint=None)
    return Runner(
        model=Tiny(), work_dir=os.path.join(args.workdir, 'work'),
        train_dataloader=dict(dataset=_data(args.iters) if dataset is None else dataset,
                              batch_size=1, num_workers=0,
                              sampler=dict(type='DefaultSampler', shuffle=True),
                              collate_fn=dict(type='default_collate')),
        train_cfg=dict(by_epoch=True, max_epochs=1),
        optim_wrapper=dict(optimizer=dict(type='Adam', lr=0.001)),
        default_hooks=hooks)


def ours_main(args: Any, bare: bool = False) -> None:
    """The Runner with its default hooks (or none, ``bare``)."""
    _common.apply_threads()
    runner = _ours_runner(args, bare)
    first: list[float] = []
    clocks: list[float] = []
    counter = _CallCounter()

    def pre_hook(module: Any, inputs: Any) -> None:
        first.append(time.time())
        clocks.extend((time.perf_counter(), time.thread_time()))
        handle.remove()
        counter.start()

    handle = runner.model.register_forward_pre_hook(pre_hook)
    profile = _HookProfile(runner) if os.environ.get('BENCH_PROFILE_HOOKS') else None
    cprofile_path = os.environ.get('BENCH_CPROFILE')
    if cprofile_path:
        import cProfile
        cProfile.runctx('runner.train()', globals(), dict(runner=runner), cprofile_path)
    else:
        runner.train()
    calls = counter.stop()
    train_s, cpu_s = time.perf_counter() - clocks[0], time.thread_time() - clocks[1]
    _common.report(train_s=train_s, train_cpu_s=cpu_s, calls=calls,
                   first_iter_time=first[0] if first else None,
                   profile=profile.summary(args.iters) if profile else None)


def bare_main(args: Any) -> None:
    """Ours without any hook."""
    ours_main(args, bare=True)


class _HookProfile:
    """Times every participating hook stage, the dispatch and the train_step parts."""

    def __init__(self, runner: Any) -> None:
        from mmengine.runner._hooks import STAGES, participates
        self.ns: dict[str, int] = defaultdict(int)
        self.calls: dict[str, int] = defaultdict(int)
        for hook in runner.hooks:
            for stage in STAGES:
                if participates(hook, stage):  # wrap only what dispatch calls anyway
                    self._wrap(hook, stage, f'hook {type(hook).__name__}.{stage}')
        self._wrap(runner, 'call_hook', 'call_hook (dispatch + hooks)')
        model = runner.model
        self._wrap(model, 'train_step', 'model.train_step (total)')
        self._wrap(model.data_preprocessor, 'forward', 'train_step: data_preprocessor')
        self._wrap(model, 'forward', 'train_step: model.forward')
        self._runner = runner

    def _wrap(self, obj: Any, name: str, label: str) -> None:
        fn = getattr(obj, name)
        ns, calls, clock = self.ns, self.calls, time.thread_time_ns

        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = clock()
            try:
                return fn(*args, **kwargs)
            finally:
                ns[label] += clock() - t0
                calls[label] += 1

        setattr(obj, name, timed)

    def summary(self, iters: int) -> dict[str, Any]:
        # update_params exists only once the optimizer wrapper is built, i.e. after train().
        return {label: dict(us_per_iter=ns / iters / 1000, calls=self.calls[label])
                for label, ns in sorted(self.ns.items(), key=lambda kv: -kv[1])}


def _wrap_update_params() -> None:
    """Time ``OptimWrapper.update_params`` at class level (the wrapper is built lazily)."""
    from mmengine.optim import OptimWrapper
    original = OptimWrapper.update_params
    totals = _UPDATE_TOTALS

    def timed(self: Any, *args: Any, **kwargs: Any) -> Any:
        t0 = time.thread_time_ns()
        try:
            return original(self, *args, **kwargs)
        finally:
            totals[0] += time.thread_time_ns() - t0
            totals[1] += 1

    OptimWrapper.update_params = timed


_UPDATE_TOTALS = [0, 0]

WORKERS = dict(plain=plain_main, ours=ours_main, ours_bare=bare_main)


# ---------------------------------------------------------------------------- driver
def _print_profile(profile: dict[str, Any], overhead_us: float | None) -> None:
    print('\n== per-hook profile of ours (separate run; main-thread CPU time; timers add '
          '~0.3 us per call) ==')
    print(f'{"what":58} {"us/iter":>9} {"calls":>8}')
    for label, entry in profile.items():
        print(f'{label:58} {entry["us_per_iter"]:9.2f} {entry["calls"]:8d}')
    hooks_us = sum(e['us_per_iter'] for k, e in profile.items() if k.startswith('hook '))
    dispatch = profile.get('call_hook (dispatch + hooks)', {}).get('us_per_iter', 0.0)
    print(f'{"sum of hook stage methods":58} {hooks_us:9.2f}')
    print(f'{"call_hook dispatch alone (call_hook - hooks)":58} {dispatch - hooks_us:9.2f}')
    if overhead_us is not None:
        print(f'{"measured CPU overhead (ours - plain, timed runs)":58} {overhead_us:9.2f}')


def main() -> None:
    parser = _common.base_parser(__doc__.splitlines()[0], runs=5)
    parser.add_argument('--iters', type=int, default=20000)
    parser.add_argument('--profile-hooks', action='store_true')
    parser.add_argument('--bare', action='store_true', help='add ours without default hooks')
    parser.add_argument('--cprofile', action='store_true')
    parser.add_argument('--count-calls', action='store_true',
                        help='add a run of each variant counting Python calls per iteration')
    parser.add_argument('--instructions', action='store_true',
                        help='instead of timing, count instructions per iteration (valgrind)')
    parser.add_argument('--cache-sim', action='store_true',
                        help='with --instructions: also simulate caches and branch prediction')
    parser.add_argument('--window', type=int, default=500,
                        help='iterations counted by --instructions (after 50 uncounted)')
    args = parser.parse_args()
    if args.worker:
        if os.environ.get('BENCH_PROFILE_HOOKS'):
            _wrap_update_params()
        WORKERS[args.worker](args)
        if os.environ.get('BENCH_PROFILE_HOOKS') and _UPDATE_TOTALS[1]:
            _common.report(update_params_us=_UPDATE_TOTALS[0] / args.iters / 1000)
        return
    info = _common.header(f'degenerate step: Linear(2,2), batch 1, Adam, {args.iters} iters',
                          args)
    names = _common.variants(args, lightning_ok=False)
    if args.bare:
        names.append('ours_bare')
    if args.instructions:
        figures = _count_instructions(args, names)
        if args.json:
            import json
            with open(args.json, 'w') as file:
                json.dump(dict(machine=info, instructions_per_iter=figures), file, indent=2)
        return
    runs = _common.alternate(__file__, names, args, ['--iters', str(args.iters)])
    per_iter = {k: [r['result']['train_s'] / args.iters * 1e6 for r in v]
                for k, v in runs.items()}
    per_cpu = {k: [r['result']['train_cpu_s'] / args.iters * 1e6 for r in v]
               for k, v in runs.items()}
    table = _common.Table('per-iteration overhead')
    table.add('training loop wall time per iteration', 'us', per_iter)
    table.add('training loop CPU time per iteration', 'us', per_cpu,
              note='main-thread CPU time: robust to other processes\' load')
    paired = [o - p for o, p in zip(per_iter['ours'], per_iter['plain'])]
    table.add('overhead ours - plain, wall (paired runs)', 'us', {'ours': paired})
    paired_cpu = [o - p for o, p in zip(per_cpu['ours'], per_cpu['plain'])]
    table.add('overhead ours - plain, CPU (paired runs)', 'us', {'ours': paired_cpu})
    overhead = statistics.median(per_iter['ours']) - statistics.median(per_iter['plain'])
    overhead_cpu = statistics.median(per_cpu['ours']) - statistics.median(per_cpu['plain'])
    wall = _common.collect(runs, 'wall_s')
    table.add('whole-process wall time', 's', wall)
    table.add('peak RSS', 'MiB', _common.collect(runs, 'peak_rss_mib'))
    table.print()
    print(f'\noverhead (median ours - median plain): {overhead:.1f} us/iter wall, '
          f'{overhead_cpu:.1f} us/iter CPU '
          f'(target <= 50 us); whole-process ratio '
          f'{statistics.median(wall["ours"]) / statistics.median(wall["plain"]):.3f} '
          f'(target <= 1.15)')
    extra: dict[str, Any] = dict(machine=info, overhead_us=overhead,
                                 overhead_cpu_us=overhead_cpu)
    if args.profile_hooks:
        run = _common.run_child(__file__, 'ours', ['--iters', str(args.iters)],
                                _profile_env(args, BENCH_PROFILE_HOOKS='1'))
        profile = run['result']['profile']
        if 'update_params_us' in run['result']:
            profile['train_step: optim_wrapper.update_params'] = dict(
                us_per_iter=run['result']['update_params_us'], calls=args.iters)
        _print_profile(profile, overhead_cpu)
        extra['profile'] = profile
    if args.count_calls:
        extra['calls_per_iter'] = _count_calls(args)
    if args.cprofile:
        _run_cprofile(args)
    table.dump(args.json, **extra)


def _count_calls(args: Any) -> dict[str, float]:
    """One more run of each variant counting Python function calls per iteration."""
    per_iter = {}
    for name in ('plain', 'ours'):
        run = _common.run_child(__file__, name, ['--iters', str(args.iters)],
                                _profile_env(args, BENCH_COUNT_CALLS='1'))
        per_iter[name] = run['result']['calls'] / args.iters
    print(f'\nPython function calls per iteration (first iteration to end of loop, main '
          f'thread): plain {per_iter["plain"]:.1f}, ours {per_iter["ours"]:.1f} '
          f'(+{per_iter["ours"] - per_iter["plain"]:.1f})')
    return per_iter


def _count_instructions(args: Any, names: list[str]) -> dict[str, float]:
    """One run of each variant under callgrind; instructions per counted iteration."""
    compiler = shutil.which('cc') or shutil.which('gcc')
    if compiler is None:
        sys.exit('--instructions needs a C compiler on PATH (cc or gcc) to build its '
                 'valgrind helper.')
    out_dir = tempfile.mkdtemp(prefix='bench_instructions_')
    source, library = os.path.join(out_dir, 'cg.c'), os.path.join(out_dir, 'libcg.so')
    with open(source, 'w') as file:
        file.write(_CG_SOURCE)
    built = subprocess.run([compiler, '-O2', '-shared', '-fPIC', '-o', library, source],
                           capture_output=True, text=True)
    if built.returncode != 0:
        sys.exit(f'--instructions could not build its valgrind helper ({compiler}):\n'
                 f'{built.stderr}\nIs valgrind/callgrind.h installed (package valgrind or '
                 'valgrind-devel)?')
    start, count = 50, args.window
    iters = start + count + 10
    per_iter: dict[str, float] = {}
    simulated: dict[str, dict[str, float]] = {}
    print(f'\n== machine instructions per iteration (callgrind; iterations [{start}, '
          f'{start + count}), {count // 10} log lines) ==', flush=True)
    for name in names:
        if name == 'lightning':
            continue
        env = _profile_env(args, BENCH_INSTRUCTIONS=f'{start},{count}', BENCH_CG_LIB=library)
        events = _common.callgrind_run(__file__, name, ['--iters', str(iters)], env, out_dir,
                                       window='window', simulate=args.cache_sim)
        per_iter[name] = events['Ir'] / count
        extra = (f'  (+{per_iter[name] - per_iter["plain"]:,.0f}, '
                 f'{per_iter[name] / per_iter["plain"]:.3f}x)' if name != 'plain' else '')
        print(f'{name:10} {per_iter[name]:12,.0f}{extra}', flush=True)
        if args.cache_sim:
            simulated[name] = _simulated_per_iter(events, count)
    shutil.rmtree(out_dir, ignore_errors=True)
    if simulated:
        _print_simulated(simulated)
        per_iter.update({f'{name} {key}': value for name, figures in simulated.items()
                         for key, value in figures.items()})
    return per_iter


def _simulated_per_iter(events: dict[str, int], count: int) -> dict[str, float]:
    """Per-iteration cache misses, mispredicted branches and estimated cycles."""
    return {'first-level cache misses':
            _common.event_total(events, _common.FIRST_LEVEL_MISSES) / count,
            'last-level cache misses':
            _common.event_total(events, _common.LAST_LEVEL_MISSES) / count,
            'mispredicted branches': _common.event_total(events, _common.MISPREDICTED) / count,
            'estimated cycles': _common.estimated_cycles(events) / count}


def _print_simulated(simulated: dict[str, dict[str, float]]) -> None:
    print('\n== simulated caches and branch predictor, per iteration (--cache-sim) ==')
    plain = simulated['plain']
    for key in plain:
        cells = []
        for name, figures in simulated.items():
            diff = (f' ({figures[key] - plain[key]:+,.0f}, {figures[key] / plain[key]:.3f}x)'
                    if name != 'plain' and plain[key] else '')
            cells.append(f'{name} {figures[key]:,.0f}{diff}')
        print(f'{key:26} ' + '   '.join(cells))
    print('estimated cycles = instructions + 10 x first-level misses + 100 x last-level misses '
          '+ 20 x mispredicted branches')


def _profile_env(args: Any, **env: str) -> dict[str, str]:
    if args.threads:
        env.update(BENCH_THREADS=str(args.threads), OMP_NUM_THREADS=str(args.threads))
    return env


def _run_cprofile(args: Any) -> None:
    import pstats
    import tempfile
    path = os.path.join(tempfile.mkdtemp(prefix='bench_cprofile_'), 'ours.prof')
    _common.run_child(__file__, 'ours', ['--iters', str(args.iters)],
                      _profile_env(args, BENCH_CPROFILE=path))
    print(f'\n== cProfile of ours ({path}); top 30 by own time ==')
    pstats.Stats(path).sort_stats('tottime').print_stats(30)


if __name__ == '__main__':
    main()
