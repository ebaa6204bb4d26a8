"""Resume time to the first iteration after resuming 10,000 iterations into an epoch.

    python benchmarks/bench_resume.py --runs 5 [--skip-iters 10000]

Setup (once, not timed): ours trains a ``Linear(2, 2)`` model with batch size 1 on a
shuffled dataset of ``2 * skip_iters`` samples (one epoch, ``EpochBasedTrainLoop``) and
saves a mid-epoch checkpoint after ``--skip-iters`` iterations (``CheckpointHook(interval=
skip_iters, by_epoch=False)``); the plain loop's checkpoint (model, optimizer, iteration,
seed) is written by a one-step plain run, since its content does not affect the timing.

Timed: a fresh process resumes and stops at the first training forward pass. Plain:
``torch.load`` + ``load_state_dict`` and a sampler over the rest of the same permutation
(``randperm(n)[done:]``: the hand-written O(1) skip). Ours: ``Runner(resume=True,
load_from=...)`` + ``train()``. Figures: process start to first iteration, and the number of
dataset reads (``__getitem__`` calls) before it -- the sampler-level skip makes it 1.
"""
from __future__ import annotations

import os
import tempfile
import time
from typing import Any

import _common

READS = [0]
FIRST_INDEX: list[int] = []


def _dataset(n: int) -> Any:
    import torch
    from torch.utils.data import Dataset

    class Counting(Dataset):
        def __init__(self) -> None:
            g = torch.Generator().manual_seed(0)
            self.x = torch.randn(n, 2, generator=g)
            self.y = torch.randint(0, 2, (n,), generator=g)

        def __len__(self) -> int:
            return n

        def __getitem__(self, i: int) -> Any:
            READS[0] += 1
            if not FIRST_INDEX:
                FIRST_INDEX.append(int(i))
            return self.x[i], self.y[i]

    return Counting()


def _first_iter_probe(model: Any, expected: Any) -> None:
    def pre_hook(module: Any, inputs: Any) -> None:
        now = time.time()
        _common.report(first_iter_time=now, reads=READS[0],
                       resumed_at_expected_sample=FIRST_INDEX[:1] == [expected()])
        os._exit(0)
    model.register_forward_pre_hook(pre_hook)


def plain_worker(args: Any) -> None:
    import torch
    import torch.nn.functional as F
    from torch.utils.data import DataLoader
    _common.apply_threads()
    n = 2 * args.skip_iters
    dataset = _dataset(n)
    model = torch.nn.Linear(2, 2)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.001)
    path = os.path.join(args.ckpt_dir, 'plain.pth')
    if args.make:
        F.cross_entropy(model(dataset.x[:1]), dataset.y[:1]).backward()
        optimizer.step()
        torch.save({'state_dict': model.state_dict(), 'optimizer': optimizer.state_dict(),
                    'iter': args.skip_iters, 'seed': 1234}, path)
        return
    ckpt = torch.load(path, map_location='cpu', weights_only=True)
    model.load_state_dict(ckpt['state_dict'])
    optimizer.load_state_dict(ckpt['optimizer'])
    order = torch.randperm(n, generator=torch.Generator().manual_seed(ckpt['seed']))
    loader = DataLoader(dataset, batch_size=1, sampler=order[ckpt['iter']:].tolist())
    _first_iter_probe(model, lambda: int(order[ckpt['iter']]))
    for x, y in loader:
        F.cross_entropy(model(x), y).backward()


def ours_worker(args: Any) -> None:
    import torch
    import torch.nn.functional as F

    from mmengine.hooks import Hook
    from mmengine.model import BaseModel
    from mmengine.runner import Runner
    _common.apply_threads()

    class Tiny(BaseModel):
        def __init__(self) -> None:
            super().__init__()
            self.linear = torch.nn.Linear(2, 2)

        def forward(self, x: Any, y: Any, mode: str = 'tensor') -> Any:
            out = self.linear(x)
            return {'loss': F.cross_entropy(out, y)} if mode == 'loss' else out

    class StopAfterSave(Hook):
        priority = 'LOWEST'  # after the CheckpointHook wrote the mid-epoch checkpoint

        def after_train_iter(self, runner: Any, batch_idx: int, data_batch: Any = None,
                             outputs: Any = None) -> None:
            if runner.iter + 1 >= args.skip_iters:
                os._exit(0)

    work_dir = os.path.join(args.ckpt_dir, 'work')
    path = os.path.join(work_dir, f'iter_{args.skip_iters}.pth')
    runner = Runner(
        model=Tiny(), work_dir=work_dir,
        train_dataloader=dict(dataset=_dataset(2 * args.skip_iters), batch_size=1,
                              sampler=dict(type='DefaultSampler', shuffle=True),
                              collate_fn=dict(type='default_collate')),
        train_cfg=dict(by_epoch=True, max_epochs=1),
        optim_wrapper=dict(optimizer=dict(type='Adam', lr=0.001)),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=args.skip_iters,
                                           by_epoch=False),
                           logger=dict(type='LoggerHook', interval=1000)),
        custom_hooks=[StopAfterSave()] if args.make else None,
        load_from=None if args.make else path, resume=not args.make)
    if not args.make:
        _first_iter_probe(runner.model, lambda: _expected_ours(runner, args.skip_iters))
    runner.train()


def _expected_ours(runner: Any, done: int) -> int:
    """The sample the run would read at position ``done`` of its first epoch's order."""
    from mmengine.dataset import DefaultSampler
    sampler = DefaultSampler(runner.train_dataloader.dataset, shuffle=True, seed=runner.seed)
    sampler.set_epoch(0)
    return list(iter(sampler))[done]


WORKERS = dict(plain=plain_worker, ours=ours_worker)


def main() -> None:
    parser = _common.base_parser(__doc__.splitlines()[0], runs=5)
    parser.add_argument('--skip-iters', type=int, default=10000)
    parser.add_argument('--make', action='store_true', help='(worker) write the checkpoint')
    parser.add_argument('--ckpt-dir', help='(worker) where the checkpoints live')
    args = parser.parse_args()
    if args.worker:
        WORKERS[args.worker](args)
        return
    info = _common.header(f'resume {args.skip_iters} iterations into an epoch', args)
    ckpt_dir = tempfile.mkdtemp(prefix='bench_resume_')
    common = ['--skip-iters', str(args.skip_iters), '--ckpt-dir', ckpt_dir]
    print('# setup: writing the checkpoints (not timed) ...', flush=True)
    for name in ('plain', 'ours'):
        _common.run_child(__file__, name, common + ['--make'], timeout=7200)
    if not os.path.exists(os.path.join(ckpt_dir, 'work', f'iter_{args.skip_iters}.pth')):
        raise RuntimeError(f'ours did not write iter_{args.skip_iters}.pth in {ckpt_dir}/work')
    runs = _common.alternate(__file__, ['plain', 'ours'], args, common)
    first = {k: [r['result']['first_iter_time'] - r['spawn_time'] for r in v]
             for k, v in runs.items()}
    table = _common.Table(f'resume {args.skip_iters} iterations into an epoch')
    table.add('process start to first iteration', 's', first)
    table.add('dataset reads before first iteration', 'reads', _common.collect(runs, 'reads'))
    table.add('peak RSS', 'MiB', _common.collect(runs, 'peak_rss_mib'))
    table.print()
    for name, items in runs.items():
        ok = [r['result']['resumed_at_expected_sample'] for r in items]
        print(f'{name}: first sample after resume is the expected one in {sum(ok)}/{len(ok)} '
              f'runs')
    table.dump(args.json, machine=info)
    import shutil
    shutil.rmtree(ckpt_dir, ignore_errors=True)


if __name__ == '__main__':
    main()
