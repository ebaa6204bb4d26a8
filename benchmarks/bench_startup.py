"""Time from process start to the first training iteration, plain loop vs ours.

    python benchmarks/bench_startup.py --runs 7 [--threads 1] [--style cfg|objects]

The workload is the rings example (see ``_rings.py``); each worker exits as soon as the
first training forward pass starts, so the figure covers interpreter start-up, imports,
building the model, data, optimizer and (for ours) the Runner, its hooks, logger, config
dump and everything ``train()`` does before the first iteration. The clock starts in the
driver just before the child is spawned.
"""
from __future__ import annotations

import statistics

import _common
import _rings


def main() -> None:
    parser = _common.base_parser(__doc__.splitlines()[0], runs=7)
    _rings.add_arguments(parser)
    args = parser.parse_args()
    if args.worker:
        args.exit_at_first = True
        _rings.WORKERS[args.worker](args)
        return
    info = _common.header(f'start to first iteration, rings example, style={args.style}', args)
    names = _common.variants(args)
    runs = _common.alternate(__file__, names, args, ['--style', args.style])
    first = {k: [r['result']['first_iter_time'] - r['spawn_time'] for r in v]
             for k, v in runs.items()}
    table = _common.Table('start to first training iteration')
    table.add('process start to first iteration', 's', first)
    table.add('peak RSS at first iteration', 'MiB', _common.collect(runs, 'peak_rss_mib'))
    table.print()
    extra_s = statistics.median(first['ours']) - statistics.median(first['plain'])
    print(f'\nours - plain: {extra_s:+.3f} s (target <= +0.5 s)')
    table.dump(args.json, machine=info, extra_s=extra_s)


if __name__ == '__main__':
    main()
