"""Checkpoint save and load time and peak extra memory for a ~100 MB model, plain vs ours.

    python benchmarks/bench_checkpoint.py --runs 5 [--size-mb 100] [--adam]

The model is a stack of ``Linear(2048, 2048)`` layers (~16.8 MB each) trained for one
iteration with SGD (no optimizer state, so the checkpoint is about the model's size;
``--adam`` adds Adam's two moment buffers). Every operation runs in its own fresh process:

* save: plain ``torch.save({'state_dict', 'optimizer'})`` vs ``runner.save_checkpoint`` after
  ``runner.train()`` (one iteration, checkpoint hook off; synchronous: hashed, fsynced and
  renamed when it returns) vs ``deferred``: the same runner saving through a
  ``CheckpointHook`` in its training-time mode, where hashing, fsync and the rename run in a
  background thread. For ``deferred``, "save time" is how long the training thread is
  blocked, and "time until durable" runs until the commit (and the manifest and
  ``last_checkpoint`` updates after it) finished. Plain's "time until durable" is
  ``torch.save`` plus an ``fsync`` of the file (plain ``torch.save`` alone does not make the
  file durable);
* load: plain ``torch.load(weights_only=True)`` + ``model.load_state_dict`` vs
  ``runner.load_checkpoint`` on a built Runner.

"peak extra memory" is the process's peak RSS during the operation minus its RSS just
before it (``ru_maxrss`` after minus ``/proc/self/statm`` before); a second in-memory copy
of the weights shows up as about the model's size.
"""
from __future__ import annotations

import os
import tempfile
import time
from typing import Any

import _common


def _net(size_mb: int) -> Any:
    import torch
    layers = max(1, round(size_mb * 2**20 / (2048 * 2049 * 4)))
    return torch.nn.Sequential(*[torch.nn.Linear(2048, 2048) for _ in range(layers)])


def _optimizer(params: Any, adam: bool) -> Any:
    import torch
    return torch.optim.Adam(params, lr=1e-4) if adam else torch.optim.SGD(params, lr=1e-4)


def _measure(fn: Any) -> dict[str, float]:
    import gc
    gc.collect()
    before = _common.current_rss_mib()
    peak_before = _common.peak_rss_mib()
    start = time.perf_counter()
    fn()
    seconds = time.perf_counter() - start
    peak = _common.peak_rss_mib()
    return dict(seconds=seconds, extra_mib=max(0.0, peak - before),
                peak_was_higher_before=peak_before > peak - 1)


def plain_worker(args: Any) -> None:
    import torch
    _common.apply_threads()
    model = _net(args.size_mb)
    optimizer = _optimizer(model.parameters(), args.adam)
    path = os.path.join(args.ckpt_dir, 'plain.pth')
    if args.op == 'save':
        model(torch.randn(1, 2048)).sum().backward()
        optimizer.step()
        optimizer.zero_grad()
        result = _measure(lambda: torch.save(
            {'state_dict': model.state_dict(), 'optimizer': optimizer.state_dict()}, path))
        start = time.perf_counter()
        fd = os.open(path, os.O_RDONLY)
        os.fsync(fd)
        os.close(fd)
        result['durable_s'] = result['seconds'] + time.perf_counter() - start
    else:
        def load() -> None:
            ckpt = torch.load(path, map_location='cpu', weights_only=True)
            model.load_state_dict(ckpt['state_dict'])
        result = _measure(load)
    _common.report(file_mb=os.path.getsize(path) / 2**20, **result)


def _runner(args: Any) -> Any:
    import torch
    from torch.utils.data import TensorDataset

    from mmengine.model import BaseModel
    from mmengine.runner import Runner

    class Big(BaseModel):
        def __init__(self) -> None:
            super().__init__()
            self.net = _net(args.size_mb)

        def forward(self, x: Any, mode: str = 'tensor') -> Any:
            out = self.net(x)
            return {'loss': out.sum()} if mode == 'loss' else out

    optim = dict(type='Adam', lr=1e-4) if args.adam else dict(type='SGD', lr=1e-4)
    runner = Runner(
        model=Big(), work_dir=os.path.join(args.workdir, 'work'),
        train_dataloader=dict(dataset=TensorDataset(torch.randn(2, 2048)), batch_size=1,
                              sampler=dict(type='DefaultSampler', shuffle=False),
                              collate_fn=dict(type='default_collate')),
        train_cfg=dict(by_epoch=False, max_iters=1), optim_wrapper=dict(optimizer=optim),
        default_hooks=dict(checkpoint=None))
    if args.op == 'save':
        runner.train()
    return runner


def ours_worker(args: Any) -> None:
    _common.apply_threads()
    runner = _runner(args)
    if args.op == 'save':
        result = _measure(lambda: runner.save_checkpoint(args.ckpt_dir, 'ours.pth'))
        result['durable_s'] = result['seconds']  # synchronous: durable on return
    else:
        result = _measure(lambda: runner.load_checkpoint(os.path.join(args.ckpt_dir,
                                                                      'ours.pth')))
    _common.report(file_mb=os.path.getsize(os.path.join(args.ckpt_dir, 'ours.pth')) / 2**20,
                   **result)


def deferred_worker(args: Any) -> None:
    """A save as the CheckpointHook makes it during training (background commit)."""
    from mmengine.hooks import CheckpointHook
    from mmengine.runner.checkpoint import wait_for_checkpoint_commits
    _common.apply_threads()
    runner = _runner(args)
    hook = CheckpointHook(interval=1, by_epoch=False, out_dir=args.ckpt_dir)
    hook.before_train(runner)  # enters the training-time (deferred) mode
    marks: dict[str, float] = {}

    def save() -> None:
        marks['start'] = time.perf_counter()
        hook.after_train_iter(runner, 0)  # saves iter_2.pth: interval 1, runner.iter == 1
        marks['returned'] = time.perf_counter()
        wait_for_checkpoint_commits()
        marks['durable'] = time.perf_counter()

    result = _measure(save)
    hook.after_train(runner)
    path = os.path.join(hook.out_dir, 'iter_2.pth')
    _common.report(file_mb=os.path.getsize(path) / 2**20, extra_mib=result['extra_mib'],
                   seconds=marks['returned'] - marks['start'],
                   durable_s=marks['durable'] - marks['start'])


WORKERS = dict(plain=plain_worker, ours=ours_worker, deferred=deferred_worker)


def main() -> None:
    parser = _common.base_parser(__doc__.splitlines()[0], runs=5)
    parser.add_argument('--size-mb', type=int, default=100)
    parser.add_argument('--adam', action='store_true')
    parser.add_argument('--op', choices=('save', 'load'), help='(worker)')
    parser.add_argument('--ckpt-dir', help='(worker) where the checkpoints live')
    args = parser.parse_args()
    if args.worker:
        WORKERS[args.worker](args)
        return
    info = _common.header(f'checkpoint save/load, ~{args.size_mb} MB model, '
                          f'{"Adam" if args.adam else "SGD"}', args)
    ckpt_dir = tempfile.mkdtemp(prefix='bench_ckpt_')
    common = ['--size-mb', str(args.size_mb), '--ckpt-dir', ckpt_dir] + (
        ['--adam'] if args.adam else [])
    table = _common.Table(f'checkpoint, ~{args.size_mb} MB model')
    summary: dict[str, Any] = {}
    for op in ('save', 'load'):
        print(f'# {op}:')
        names = ['plain', 'ours', 'deferred'] if op == 'save' else ['plain', 'ours']
        runs = _common.alternate(__file__, names, args, common + ['--op', op])
        note = ('ours: runner.save_checkpoint (synchronous); deferred: training-thread '
                'blocking of a CheckpointHook save' if op == 'save' else '')
        row = table.add(f'{op} time', 's', _common.collect(runs, 'seconds'), note=note)
        if op == 'save':
            table.add('save: time until durable', 's', _common.collect(runs, 'durable_s'),
                      note='plain: torch.save + fsync; deferred: until committed and recorded')
        table.add(f'{op} peak extra memory', 'MiB', _common.collect(runs, 'extra_mib'))
        if op == 'save':
            table.add('checkpoint file size', 'MiB', _common.collect(runs, 'file_mb'))
            summary['deferred'] = row['variants']['deferred'].get('ratio')
        summary[op] = row['variants']['ours'].get('ratio')
    table.print()
    print(f'\nsave time ratio ours/plain: synchronous runner.save_checkpoint '
          f'{summary["save"]:.3f}, CheckpointHook during training (training-thread blocking) '
          f'{summary["deferred"]:.3f} (target <= 1.2, with no second in-memory copy)')
    table.dump(args.json, machine=info)
    import shutil
    shutil.rmtree(ckpt_dir, ignore_errors=True)


if __name__ == '__main__':
    main()
