"""Per-iteration overhead with plain and ours alternating in blocks inside one process.

    python benchmarks/bench_interleaved.py [--blocks 40] [--block-size 500] [--threads 1]

The workload of ``bench_overhead.py`` (``Linear(2, 2)``, batch 1, Adam, default hooks, a log
line every 10 iterations). Here both variants run in the same process, alternately:
``runner.train()`` runs for real (its dataloader, hooks, log lines), and every
``--block-size`` of its iterations the hand-written loop runs as many iterations of its own
(its own ``DataLoader`` over the same data, the same print every 10 iterations) before ours
goes on. Each block is timed with the main thread's CPU clock, and each ours block is paired
with the plain block that follows it.

Separate processes, as in ``bench_overhead.py``, see the machine's speed drift by 10-20 %
between runs, more than the overhead itself. Blocks a fraction of a second apart see the
same machine, so the paired differences are far steadier. Both variants share one
interpreter, so this measures the loops, not start-up; the first two blocks are warm-up.
"""
from __future__ import annotations

import argparse
import random
import statistics
import time
from typing import Any

import _common


class _Blocks:
    """Called at the start of each of ours' iterations; every ``size`` of them, it times the
    block of ours that just ended and runs (and times) a block of plain."""

    def __init__(self, size: int, plain_block: Any) -> None:
        self.size = size
        self.plain_block = plain_block
        self.seen = 0
        self.mark: float | None = None
        self.ours: list[float] = []
        self.plain: list[float] = []

    def tick(self) -> None:
        self.seen += 1
        if self.seen % self.size:
            return
        now = time.thread_time()
        if self.mark is not None:
            self.ours.append((now - self.mark) / self.size * 1e6)
        start = time.thread_time()
        self.plain_block(self.size)
        self.plain.append((time.thread_time() - start) / self.size * 1e6)
        self.mark = time.thread_time()


def _plain_loop(n: int) -> Any:
    """The hand-written loop of ``bench_overhead.py``, run ``size`` iterations at a time."""
    import torch
    import torch.nn.functional as F
    from bench_overhead import _data
    from torch.utils.data import DataLoader

    loader = DataLoader(_data(n), batch_size=1, shuffle=True, num_workers=0)
    model = torch.nn.Linear(2, 2)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.001)
    batches = iter(loader)
    done = 0

    def block(size: int) -> None:
        nonlocal batches, done
        for _ in range(size):
            try:
                x, y = next(batches)
            except StopIteration:
                batches = iter(loader)
                x, y = next(batches)
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            done += 1
            if done % 10 == 0:
                print(f'Epoch(train) [1][{done}/{len(loader)}] '
                      f'lr: {optimizer.param_groups[0]["lr"]:.4e} loss: {loss.item():.4f}')
    return block


def worker(args: argparse.Namespace) -> None:
    """Run ours for real, with plain blocks in between; report the per-block figures."""
    import bench_overhead
    from torch.utils.data import TensorDataset

    _common.apply_threads()
    iters = args.block_size * (args.blocks + 3)
    blocks = _Blocks(args.block_size, _plain_loop(iters))

    class Pausing(TensorDataset):
        def __getitem__(self, index: int) -> Any:
            blocks.tick()
            return super().__getitem__(index)

    runner = bench_overhead._ours_runner(argparse.Namespace(iters=iters, workdir=args.workdir),
                                         dataset=Pausing(*bench_overhead._data(iters).tensors))
    runner.train()
    skip = 2  # warm-up blocks
    _common.report(ours=blocks.ours[skip:], plain=blocks.plain[skip:len(blocks.ours)])


def _median_interval(diffs: list[float], rounds: int = 2000) -> tuple[float, float]:
    """A 95 % bootstrap interval of the median paired difference."""
    rng = random.Random(0)
    medians = sorted(statistics.median(rng.choices(diffs, k=len(diffs)))
                     for _ in range(rounds))
    return medians[int(0.025 * rounds)], medians[int(0.975 * rounds) - 1]


def main() -> None:
    parser = _common.base_parser(__doc__.splitlines()[0], runs=1)
    parser.add_argument('--blocks', type=int, default=40, help='timed blocks per variant')
    parser.add_argument('--block-size', type=int, default=500, help='iterations per block')
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    info = _common.machine()
    print(f'# interleaved blocks: {args.blocks} x {args.block_size} iterations per variant, '
          'one process')
    print(f'# machine: {info["cpu"]}, {info["cores"]} cores, python {info["python"]}, torch '
          f'{info["torch"]}; load average {info["load_avg"]}; threads: '
          f'{args.threads or "torch default"}', flush=True)
    extra = ['--blocks', str(args.blocks), '--block-size', str(args.block_size)]
    env: dict[str, str | None] = {}
    if args.threads:
        env.update(BENCH_THREADS=str(args.threads), OMP_NUM_THREADS=str(args.threads))
    if args.pyc_prefix:
        env.update(PYTHONDONTWRITEBYTECODE=None, PYTHONPYCACHEPREFIX=args.pyc_prefix)
    result = _common.run_child(__file__, 'interleaved', extra, env)['result']
    ours, plain = result['ours'], result['plain']
    diffs = [o - p for o, p in zip(ours, plain)]
    low, high = _median_interval(diffs)
    print(f'\nCPU time per iteration, median of {len(ours)} blocks: plain '
          f'{statistics.median(plain):.1f} us ({min(plain):.0f} - {max(plain):.0f}), ours '
          f'{statistics.median(ours):.1f} us ({min(ours):.0f} - {max(ours):.0f})')
    print(f'overhead ours - plain, median of the paired blocks: '
          f'{statistics.median(diffs):.1f} us/iter (95 % interval {low:.1f} - {high:.1f}; '
          'target <= 50 us)')
    if args.json:
        import json
        with open(args.json, 'w') as file:
            json.dump(dict(ours=ours, plain=plain, overhead_us=statistics.median(diffs),
                           interval=[low, high]), file, indent=2)


if __name__ == '__main__':
    main()
