"""``import mmengine.runner`` time beyond ``import torch``.

    python benchmarks/bench_import.py --runs 10 [--importtime]

Two subprocess variants, alternating: ``plain`` imports torch; ``ours`` imports torch, then
mmengine.runner. Each child also times its own imports with ``time.perf_counter`` (so the
figure "mmengine.runner after torch" excludes interpreter start-up). ``--importtime`` adds
one ``python -X importtime`` run and lists the slowest modules that mmengine.runner pulls in
beyond torch (cumulative microseconds), and the third-party packages it loads that torch
does not.
"""
from __future__ import annotations

import statistics
import subprocess
import sys
import time

import _common


def worker(args) -> None:
    t0 = time.perf_counter()
    import torch  # noqa: F401
    t1 = time.perf_counter()
    before = set(sys.modules)
    if args.worker == 'ours':
        import mmengine.runner  # noqa: F401
    t2 = time.perf_counter()
    new_top = sorted({m.split('.')[0] for m in set(sys.modules) - before} - {'mmengine'})
    _common.report(torch_s=t1 - t0, mmengine_s=t2 - t1, new_packages=new_top)


def importtime() -> None:
    code = 'import torch, sys; print("MARK", file=sys.stderr, flush=True); import mmengine.runner'
    proc = subprocess.run([sys.executable, '-X', 'importtime', '-c', code],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        print(f'\n-X importtime run failed:\n{proc.stderr[-1500:]}')
        return
    after = proc.stderr.split('MARK', 1)[1]
    rows = []
    for line in after.splitlines():
        if not line.startswith('import time:') or 'cumulative' in line:
            continue
        own, cum, name = line[len('import time:'):].split('|', 2)
        rows.append((int(cum), int(own), name.strip()))
    rows.sort(reverse=True)
    print('\n== -X importtime after torch: slowest imports (cumulative us, self us) ==')
    for cum, own, name in rows[:25]:
        print(f'{cum:10d} {own:10d}  {name}')


def main() -> None:
    parser = _common.base_parser(__doc__.splitlines()[0], runs=10)
    parser.add_argument('--importtime', action='store_true')
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    info = _common.header('import time', args)
    runs = _common.alternate(__file__, ['plain', 'ours'], args)
    table = _common.Table('import time')
    table.add('whole process (python -c import ...)', 's', _common.collect(runs, 'wall_s'))
    table.add('import torch (in-process)', 's', _common.collect(runs, 'torch_s'))
    table.add('import mmengine.runner after torch', 's',
              {'ours': [r['result']['mmengine_s'] for r in runs['ours']]})
    table.add('peak RSS', 'MiB', _common.collect(runs, 'peak_rss_mib'))
    table.print()
    wall = _common.collect(runs, 'wall_s')
    beyond = statistics.median(wall['ours']) - statistics.median(wall['plain'])
    inproc = statistics.median(r['result']['mmengine_s'] for r in runs['ours'])
    print(f'\nimport mmengine.runner beyond torch: {beyond:.3f} s whole-process, '
          f'{inproc:.3f} s in-process (target <= 0.3 s)')
    print(f'packages loaded by mmengine.runner beyond torch: '
          f'{runs["ours"][0]["result"]["new_packages"]}')
    if args.importtime:
        importtime()
    table.dump(args.json, machine=info, beyond_s=beyond, in_process_s=inproc)


if __name__ == '__main__':
    main()
