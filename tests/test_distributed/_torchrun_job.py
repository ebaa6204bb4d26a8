"""The torchrun job behind ``test_torchrun.py``: 2 gloo ranks on CPU, phases in one launch.

    python -m torch.distributed.run --nproc_per_node=2 --master_port=PORT \
        _torchrun_job.py OUT_DIR ONE_RANK_FSDP_CHECKPOINT

Every rank writes ``OUT_DIR/results_<rank>.pt`` (plain data) before the last phase, in which
rank 1 raises mid-training: the job must then exit non-zero, quickly.
"""
import os
import os.path as osp
import sys
import time

HERE = osp.dirname(osp.abspath(__file__))
REPO = osp.dirname(osp.dirname(HERE))
sys.path[:0] = [osp.join(REPO, 'examples', 'rings'), REPO]

import torch  # noqa: E402
import torch.distributed as torch_dist  # noqa: E402
from torch.distributed.algorithms.ddp_comm_hooks.default_hooks import (  # noqa: E402
    allreduce_hook,
)

from mmengine.config import Config  # noqa: E402
from mmengine.dist import all_gather_object, barrier  # noqa: E402
from mmengine.hooks import Hook  # noqa: E402
from mmengine.model import MMDistributedDataParallel  # noqa: E402
from mmengine.optim import build_optim_wrapper  # noqa: E402
from mmengine.registry import DATASETS, HOOKS, MODEL_WRAPPERS  # noqa: E402
from mmengine.runner import FlexibleRunner, Runner  # noqa: E402
from tests.test_distributed._common import (  # noqa: E402
    BNModel,
    CaptureHook,
    evaluate_per_sample,
)

OUT, ONE_RANK_CKPT = sys.argv[1], sys.argv[2]
RANK = int(os.environ['RANK'])
results: dict = {}
_T0 = time.monotonic()


def phase(name: str) -> None:
    if os.environ.get('MMENGINE_JOB_TIMING'):
        print(f'rank {RANK}: {time.monotonic() - _T0:6.2f}s {name}', flush=True)


@HOOKS.register_module()
class FailOnRank1Hook(Hook):
    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if runner.rank == 1 and runner.iter == 3:
            raise RuntimeError('boom on rank 1')


def rings_cfg(name: str, launcher: str = 'pytorch', batch_size: int = 8, **top) -> Config:
    """The tutorial's config, small: 64 training samples, 2 epochs, no loader workers."""
    cfg = Config.fromfile(osp.join(REPO, 'examples', 'rings', 'example_config.py'))
    cfg.work_dir = osp.join(OUT, name)
    cfg.experiment_name = name
    cfg.launcher = launcher
    cfg.env_cfg.dist_cfg = dict(timeout=30)  # backend='nccl' stays: gloo is the fallback
    cfg.randomness = dict(seed=2024)
    cfg.log_level = 'WARNING'
    for loader, size, bs in ((cfg.train_dataloader, 64, batch_size),
                             (cfg.val_dataloader, 16, 4)):
        loader.dataset.size, loader.batch_size = size, bs
        loader.num_workers, loader.pin_memory = 0, False
    cfg.train_cfg = dict(by_epoch=True, max_epochs=2, val_begin=1, val_interval=1)
    cfg.default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1),
                             logger=dict(type='LoggerHook', interval=4))
    cfg.update(top)
    return cfg


def weights(runner) -> dict:
    model = runner.model.module if hasattr(runner.model, 'module') else runner.model
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def max_diff(a: dict, b: dict) -> float:
    return max(float((a[k] - b[k]).abs().max()) for k in a)


phase('imports')
# ---- single-process reference (before any process group): twice the batch size
if RANK == 0:
    reference = Runner.from_cfg(rings_cfg('single', launcher='none', batch_size=16))
    reference.train()
    ref_weights = weights(reference)
    results['single_accuracy'] = float(reference.val()['accuracy'])

phase('# ---- DDP with the')
# ---- DDP with the tutorial's Runner
ddp = Runner.from_cfg(rings_cfg('ddp'))
ddp.train()
ddp_weights = weights(ddp)
results.update(
    wrapper=type(ddp.model).__name__, backend=torch_dist.get_backend(), seed=ddp.seed,
    world_size=ddp.world_size, sampler_epoch=ddp.train_dataloader.sampler.epoch,
    worker_rank=ddp.train_dataloader.worker_init_fn.keywords['rank'],
    accuracy=float(ddp.val()['accuracy']),
    weights_equal_across_ranks=all(
        max_diff(w, ddp_weights) == 0 for w in all_gather_object(ddp_weights)))
if RANK == 0:
    results['ddp_vs_single'] = max_diff(ddp_weights, ref_weights)
val11 = DATASETS.build(dict(type='MyDataset', is_train=False, size=11))
results['uneven'] = evaluate_per_sample(ddp.model, val11, batch_size=4)
if RANK == 0:
    val16 = ddp.val_dataloader.dataset
    torch.save(dict(val16=(val16.data, val16.labels), val11=(val11.data, val11.labels)),
               osp.join(OUT, 'val_data.pt'))

phase('# ---- resume the DD')
# ---- resume the DDP run from epoch 1 with FlexibleRunner + DDPStrategy
resumed = FlexibleRunner.from_cfg(rings_cfg(
    'ddp_resume', load_from=osp.join(OUT, 'ddp', 'epoch_1.pth'), resume=True,
    strategy=dict(type='DDPStrategy')))
resumed.train()
results.update(resume_strategy=type(resumed.strategy).__name__,
               resume_vs_uninterrupted=max_diff(weights(resumed), ddp_weights))

phase('# ---- SyncBN and')
# ---- SyncBN and model_wrapper_cfg (DDP itself refuses SyncBN on CPU modules, so a wrapper
# that only holds the module stands in for it), and the seeds of the ranks
@MODEL_WRAPPERS.register_module()
class HoldingWrapper(torch.nn.Module):
    def __init__(self, module, note=None):
        super().__init__()
        self.module, self.note = module, note


bn = Runner(model=BNModel(), work_dir=osp.join(OUT, 'bn'), launcher='pytorch',
            env_cfg=dict(dist_cfg=dict(backend='gloo')), experiment_name='bn',
            randomness=dict(seed=None, diff_rank_seed=True),
            cfg=dict(sync_bn='torch', model_wrapper_cfg=dict(type='HoldingWrapper', note=7)))
results.update(bn_type=type(bn.model.module.bn).__name__, wrapper_note=bn.model.note,
               drawn_seed=bn.seed, initial_seed=torch.initial_seed())
unused = Runner(model=BNModel(), work_dir=osp.join(OUT, 'unused'), launcher='pytorch',
                experiment_name='unused', cfg=dict(find_unused_parameters=True))
results['find_unused'] = unused.model.find_unused_parameters


phase('# ---- SyncBuffersHo')
# ---- SyncBuffersHook: BN running statistics agree across ranks only with the hook
def bn_stats(name: str, custom_hooks: list) -> list:
    runner = Runner(
        model=BNModel(), work_dir=osp.join(OUT, name), experiment_name=name,
        launcher='pytorch', randomness=dict(seed=1), custom_hooks=custom_hooks,
        train_dataloader=dict(dataset=dict(type='MyDataset', is_train=True, size=32),
                              sampler=dict(type='DefaultSampler', shuffle=False),
                              batch_size=8, collate_fn=dict(type='default_collate')),
        train_cfg=dict(by_epoch=True, max_epochs=1), default_hooks=dict(checkpoint=None),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)), log_level='WARNING')
    runner.train()
    return all_gather_object(runner.model.module.bn.running_mean.clone())


with_hook = bn_stats('sync_buffers', [dict(type='SyncBuffersHook')])
without_hook = bn_stats('no_sync_buffers', [])
results.update(buffers_synced=bool(torch.equal(with_hook[0], with_hook[1])),
               buffers_differ_without_hook=not torch.equal(without_hook[0], without_hook[1]))

phase('# ---- gradient accu')
# ---- gradient accumulation: DDP all-reduces only on the step that updates
model = MMDistributedDataParallel(module=BNModel())
reductions: list = []


def counting_allreduce(state, bucket):
    reductions.append(1)
    return allreduce_hook(state, bucket)


model.register_comm_hook(None, counting_allreduce)
optim_wrapper = build_optim_wrapper(model.module, dict(
    optimizer=dict(type='SGD', lr=0.1), accumulative_counts=2))
optim_wrapper.initialize_count_status(model, 0, 2)
batch = dict(data=torch.randn(4, 2) + RANK, labels=torch.tensor([0, 1, 0, 1]))
model.train_step(batch, optim_wrapper)
after_first = len(reductions)
grads = all_gather_object(model.module.fc.weight.grad.clone())
model.train_step(batch, optim_wrapper)
results.update(reductions=[after_first, len(reductions)],
               local_grads_differ=not torch.equal(grads[0], grads[1]))

phase('# ---- FSDP2 via')
# ---- FSDP2 via FlexibleRunner: train from scratch on 2 ranks, then resume a 1-rank save
capture = CaptureHook(osp.join(OUT, 'fsdp_states.pt'))
fsdp_strategy = dict(type='FSDPStrategy', shard_modules=['Linear'])
fsdp = FlexibleRunner.from_cfg(rings_cfg('fsdp', strategy=fsdp_strategy))
fsdp.register_hook(capture)
fsdp.train()
results.update(fsdp_accuracy=float(fsdp.val()['accuracy']),
               fsdp_param_type=type(next(fsdp.model.parameters())).__name__,
               fsdp_optim_state_type=type(next(iter(
                   fsdp.optim_wrapper.optimizer.state.values()))['exp_avg']).__name__)
if RANK == 0:
    full = capture.states['after_train']['model']
    results['fsdp_vs_ddp'] = max(float((full[k] - ddp_weights[k]).abs().max()) for k in full)
    from mmengine._strategy import consolidate_checkpoint
    consolidate_checkpoint(osp.join(OUT, 'fsdp', 'epoch_2.pth'), osp.join(OUT, 'fsdp_full.pth'))
barrier()

phase('from_one = Flex')
from_one = FlexibleRunner.from_cfg(rings_cfg(
    'fsdp_from_one_rank', load_from=ONE_RANK_CKPT, resume=True, strategy=fsdp_strategy,
    train_cfg=dict(by_epoch=True, max_epochs=1)))
capture_one = CaptureHook(osp.join(OUT, 'from_one_rank_states.pt'))
from_one.register_hook(capture_one)
from_one.train()

phase('torch.save(results')
torch.save(results, osp.join(OUT, f'results_{RANK}.pt'))
barrier()

# ---- last: rank 1 raises at iteration 3; the whole job must fail, not hang
print(f'rank {RANK}: failure phase starts', flush=True)
Runner.from_cfg(rings_cfg('fail', custom_hooks=[dict(type='FailOnRank1Hook')])).train()
print(f'rank {RANK}: unexpectedly finished the failure phase', flush=True)
