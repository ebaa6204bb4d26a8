"""Whole-process wall time and peak RSS of the tutorial's rings example, plain vs ours.

    python benchmarks/bench_rings.py --runs 5 [--threads 1] [--style cfg|objects]

Also reports the time from process start to the first training iteration and the size of
the first and last epoch checkpoints (a checkpoint must not grow with training length).
"""
from __future__ import annotations

import _common
import _rings


def main() -> None:
    parser = _common.base_parser(__doc__.splitlines()[0], runs=5)
    _rings.add_arguments(parser)
    args = parser.parse_args()
    if args.worker:
        _rings.WORKERS[args.worker](args)
        return
    info = _common.header(f'rings example, {args.max_epochs} epochs, num_workers=0, '
                          f'style={args.style}', args)
    names = _common.variants(args)
    extra = ['--max-epochs', str(args.max_epochs), '--style', args.style]
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


if __name__ == '__main__':
    main()
