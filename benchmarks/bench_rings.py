"""Whole-process wall time and peak RSS of the tutorial's rings example, plain vs ours.

    python benchmarks/bench_rings.py --runs 5 [--threads 1] [--style cfg|objects]

Also reports the time from process start to the first training iteration and the size of
the first and last epoch checkpoints (a checkpoint must not grow with training length).

``--instructions`` replaces the timed runs by one run of each variant under valgrind's
callgrind and reports the machine instructions of the whole process (every thread): a
figure that the machine's load does not change. Several minutes per variant.
"""
from __future__ import annotations

from typing import Any

import _common
import _rings


def main() -> None:
    parser = _common.base_parser(__doc__.splitlines()[0], runs=5)
    _rings.add_arguments(parser)
    parser.add_argument('--instructions', action='store_true',
                        help='instead of timing, count the instructions of one run of each '
                             'variant, whole process (valgrind; several minutes)')
    args = parser.parse_args()
    if args.worker:
        _rings.WORKERS[args.worker](args)
        return
    info = _common.header(f'rings example, {args.max_epochs} epochs, num_workers=0, '
                          f'style={args.style}', args)
    names = _common.variants(args)
    extra = ['--max-epochs', str(args.max_epochs), '--style', args.style]
    if args.instructions:
        _count_instructions(args, names, extra)
        return
    runs = _common.alternate(__file__, names, args, extra)
    for items in runs.values():
        for run in items:
            first = run['result'].get('first_iter_time')
            run['first_iter_s'] = first - run['spawn_time'] if first else None
    table = _common.Table('rings example (tutorial 1.2.1)')
    table.add('whole-process wall time', 's', _common.collect(runs, 'wall_s'))
    table.add('peak RSS', 'MiB', _common.collect(runs, 'peak_rss_mib'))
    table.add('CPU time (user+sys)', 's',
              {k: [r['user_s'] + r['sys_s'] for r in v] for k, v in runs.items()})
    table.add('start to first iteration', 's', _common.collect(runs, 'first_iter_s'))
    table.add('checkpoint size epoch 1', 'KiB', _common.collect(runs, 'ckpt_first_kb'))
    table.add(f'checkpoint size epoch {args.max_epochs}', 'KiB',
              _common.collect(runs, 'ckpt_last_kb'))
    table.print()
    rss = _common.collect(runs, 'peak_rss_mib')
    if 'ours' in rss:
        import statistics
        extra_mib = statistics.median(rss['ours']) - statistics.median(rss['plain'])
        print(f'\npeak RSS ours - plain: {extra_mib:+.1f} MiB (target <= +40 MiB)')
    table.dump(args.json, machine=info)


def _count_instructions(args: Any, names: list[str], extra: list[str]) -> None:
    """Machine instructions of each variant's whole process, and the ratio to plain."""
    import tempfile
    out_dir = tempfile.mkdtemp(prefix='bench_instructions_')
    env: dict[str, str | None] = {}
    if args.threads:
        env.update(BENCH_THREADS=str(args.threads), OMP_NUM_THREADS=str(args.threads))
    if args.pyc_prefix:
        env.update(PYTHONDONTWRITEBYTECODE=None, PYTHONPYCACHEPREFIX=args.pyc_prefix)
    print('\n== machine instructions, whole process (callgrind, every thread) ==', flush=True)
    totals: dict[str, int] = {}
    for name in names:
        totals[name] = _common.callgrind_run(__file__, name, extra, env, out_dir)['Ir']
        ratio = f'  {totals[name] / totals["plain"]:.3f}x' if name != 'plain' else ''
        print(f'{name:10} {totals[name]:16,}{ratio}', flush=True)


if __name__ == '__main__':
    main()
