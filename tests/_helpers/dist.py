"""Run a module-level function on several gloo processes (file rendezvous, no fixed port).

Usage::

    def _check(rank, world_size, value):      # module level, so it pickles
        ...assert things on this rank...

    def test_something():
        run_on_ranks(_check, world_size=2, args=(3,))

Each process initialises the default process group with the gloo backend before calling the
function and destroys it afterwards. A failure on any rank fails the test with that rank's
traceback; the whole run is bounded by ``timeout``.
"""
from __future__ import annotations

import gc
import os
import tempfile
import traceback
from datetime import timedelta
from typing import Any, Callable

import torch.distributed as torch_dist
import torch.multiprocessing as mp


def _worker(rank: int, fn: Callable, world_size: int, init_file: str, args: tuple,
            errors: Any) -> None:
    os.environ['RANK'] = str(rank)
    os.environ['LOCAL_RANK'] = str(rank)
    os.environ['WORLD_SIZE'] = str(world_size)
    os.environ['LOCAL_WORLD_SIZE'] = str(world_size)
    try:
        torch_dist.init_process_group('gloo', init_method=f'file://{init_file}', rank=rank,
                                      world_size=world_size, timeout=timedelta(seconds=60))
        fn(rank, world_size, *args)
        # Tear down in a settled state: the objects that hold process-group work (DDP
        # reducers, ZeRO's broadcasts) are freed, and every rank has finished its
        # collectives, before the group is destroyed (a gloo rank once aborted at exit).
        gc.collect()
        if torch_dist.is_initialized():
            torch_dist.barrier()
    except BaseException:  # report every failure to the parent, then exit non-zero
        errors.put((rank, traceback.format_exc()))
        raise
    finally:
        if torch_dist.is_initialized():
            torch_dist.destroy_process_group()


def run_on_ranks(fn: Callable, world_size: int = 2, args: tuple = (),
                 timeout: float = 90) -> None:
    """Run ``fn(rank, world_size, *args)`` on ``world_size`` gloo processes."""
    ctx = mp.get_context('spawn')
    errors = ctx.SimpleQueue()
    with tempfile.TemporaryDirectory() as tmp:
        init_file = os.path.join(tmp, 'rendezvous')
        procs = []
        for rank in range(world_size):
            proc = ctx.Process(target=_worker,
                               args=(rank, fn, world_size, init_file, args, errors))
            proc.start()
            procs.append(proc)
        for proc in procs:
            proc.join(timeout)
        hung = [p for p in procs if p.is_alive()]
        for proc in hung:
            proc.kill()
            proc.join()
    messages = []
    while not errors.empty():
        rank, tb = errors.get()
        messages.append(f'--- rank {rank} ---\n{tb}')
    if messages:
        raise AssertionError('a rank failed:\n' + '\n'.join(messages))
    if hung:
        raise AssertionError(f'{len(hung)} rank(s) did not finish within {timeout}s')
    codes = [p.exitcode for p in procs]
    if any(code != 0 for code in codes):
        raise AssertionError(f'ranks exited with codes {codes}')
