"""The tutorial's rings example (section 1.2.1) written three ways, for bench_rings/startup.

* ``plain``: a hand-written PyTorch loop doing the same work as the Runner: 10 epochs of
  Adam (lr 1e-3) with MultiStepLR([4, 8]) per epoch, a log line (``loss.item()``, lr) every
  10 iterations, validation (accuracy over the 1000-sample set) after every epoch from epoch
  2 on, and a ``torch.save`` of model + optimizer + scheduler state after every epoch.
* ``ours``: ``Runner.from_cfg`` on ``examples/rings/example_config.py`` (``--style cfg``, the
  default) or the tutorial's ``Runner(model=..., train_dataloader=DataLoader(...), ...)``
  (``--style objects``), with ``num_workers=0``.
* ``lightning``: the same with a LightningModule and a Trainer (progress bar off, a
  checkpoint per epoch; Lightning validates every epoch from the first, one extra
  1000-sample validation pass).

Every variant records the wall-clock time of the first training forward pass (a forward
pre-hook that removes itself, so it costs nothing afterwards) and, with ``--exit-at-first``,
exits right there (the start-up benchmark).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

import _common

RINGS_DIR = os.path.join(_common.REPO, 'examples', 'rings')


def add_arguments(parser: Any) -> None:
    """Worker options shared by bench_rings and bench_startup."""
    parser.add_argument('--max-epochs', type=int, default=10)
    parser.add_argument('--style', choices=('cfg', 'objects'), default='cfg',
                        help='ours: build from example_config.py or from objects (tutorial)')
    parser.add_argument('--exit-at-first', action='store_true', help=argparse.SUPPRESS)


def _mark_first_forward(model: Any, exit_at_first: bool) -> None:
    """Record when the first forward starts; exit there when only start-up is measured."""
    state: dict[str, Any] = {}

    def pre_hook(module: Any, inputs: Any) -> None:
        state['t'] = time.time()
        state['handle'].remove()
        if exit_at_first:
            _common.report(first_iter_time=state['t'])
            os._exit(0)

    state['handle'] = model.register_forward_pre_hook(pre_hook)
    _FIRST.append(state)


_FIRST: list[dict] = []


def _first_iter_time() -> float | None:
    return _FIRST[0].get('t') if _FIRST else None


# ---------------------------------------------------------------------------- plain
def _plain_classes() -> tuple[type, type]:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    from torch.utils.data import Dataset

    class RingsModel(nn.Module):
        def __init__(self, layers: int = 4) -> None:
            super().__init__()
            sequence = [nn.Linear(2, 64), nn.ReLU()]
            for _ in range(layers - 1):
                sequence.extend([nn.Linear(64, 64), nn.ReLU()])
            self.mlp = nn.Sequential(*sequence)
            self.classifier = nn.Linear(64, 2)

        def forward(self, data: Any, labels: Any, mode: str) -> Any:
            x = self.classifier(self.mlp(data))
            if mode == 'predict':
                return F.softmax(x, dim=1), labels
            return {'loss': F.cross_entropy(x, labels)}

    class RingsData(Dataset):
        def __init__(self, is_train: bool, size: int) -> None:
            torch.manual_seed(0 if is_train else 3407)
            self.labels = torch.randint(0, 2, (size,))
            r = 3 * (self.labels + 1) + torch.randn(self.labels.shape)
            theta = torch.rand(self.labels.shape) * 2 * torch.pi
            self.data = torch.vstack([r * torch.cos(theta), r * torch.sin(theta)]).T

        def __getitem__(self, index: int) -> Any:
            return self.data[index], self.labels[index]

        def __len__(self) -> int:
            return len(self.data)

    return RingsModel, RingsData


def plain_main(args: Any) -> None:
    """The hand-written loop (see the module docstring for what it does)."""
    import torch
    from torch.utils.data import DataLoader, default_collate
    _common.apply_threads()
    RingsModel, RingsData = _plain_classes()
    train_loader = DataLoader(RingsData(True, 10000), batch_size=64, shuffle=True,
                              collate_fn=default_collate, pin_memory=True, num_workers=0)
    val_loader = DataLoader(RingsData(False, 1000), batch_size=1000, shuffle=False,
                            collate_fn=default_collate, pin_memory=True, num_workers=0)
    model = RingsModel(layers=2)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.001)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=[4, 8], gamma=0.1)
    _mark_first_forward(model, args.exit_at_first)
    work_dir = os.path.join(args.workdir, 'work')
    os.makedirs(work_dir, exist_ok=True)
    sizes = []
    for epoch in range(args.max_epochs):
        model.train()
        for i, (data, labels) in enumerate(train_loader):
            loss = model(data, labels, 'loss')['loss']
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            if (i + 1) % 10 == 0:
                print(f'Epoch(train) [{epoch + 1}][{i + 1}/{len(train_loader)}] '
                      f'lr: {optimizer.param_groups[0]["lr"]:.4e} loss: {loss.item():.4f}')
        scheduler.step()
        path = os.path.join(work_dir, f'epoch_{epoch + 1}.pth')
        torch.save({'meta': {'epoch': epoch + 1}, 'state_dict': model.state_dict(),
                    'optimizer': optimizer.state_dict(),
                    'param_schedulers': [scheduler.state_dict()]}, path)
        sizes.append(os.path.getsize(path))
        if epoch + 1 >= 2:
            model.eval()
            correct = total = 0
            with torch.no_grad():
                for data, labels in val_loader:
                    score, gt = model(data, labels, 'predict')
                    correct += (score.argmax(dim=1) == gt).sum().cpu()
                    total += len(gt)
            print(f'Epoch(val) [{epoch + 1}] accuracy: {float(100 * correct / total):.4f}')
    _common.report(first_iter_time=_first_iter_time(), ckpt_first_kb=sizes[0] / 1024,
                   ckpt_last_kb=sizes[-1] / 1024)


# ---------------------------------------------------------------------------- ours
def _ours_runner(args: Any, work_dir: str) -> Any:
    sys.path.insert(0, RINGS_DIR)
    from mmengine.runner import Runner
    if args.style == 'cfg':
        from mmengine.config import Config
        cfg = Config.fromfile(os.path.join(RINGS_DIR, 'example_config.py'))
        cfg.work_dir = work_dir
        cfg.train_cfg.max_epochs = args.max_epochs
        cfg.train_dataloader.num_workers = 0
        cfg.val_dataloader.num_workers = 0
        return Runner.from_cfg(cfg)
    from rings_components import Accuracy, MyAwesomeModel, MyDataset
    from torch.optim import Adam
    from torch.utils.data import DataLoader, default_collate
    return Runner(
        model=MyAwesomeModel(layers=2, activation='relu'), work_dir=work_dir,
        train_dataloader=DataLoader(MyDataset(is_train=True, size=10000), shuffle=True,
                                    collate_fn=default_collate, batch_size=64,
                                    pin_memory=True, num_workers=0),
        train_cfg=dict(by_epoch=True, max_epochs=args.max_epochs, val_begin=2,
                       val_interval=1),
        optim_wrapper=dict(optimizer=dict(type=Adam, lr=0.001)),
        param_scheduler=dict(type='MultiStepLR', by_epoch=True, milestones=[4, 8], gamma=0.1),
        val_dataloader=DataLoader(MyDataset(is_train=False, size=1000), shuffle=False,
                                  collate_fn=default_collate, batch_size=1000,
                                  pin_memory=True, num_workers=0),
        val_cfg=dict(), val_evaluator=dict(type=Accuracy),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1)),
        launcher='none',
        env_cfg=dict(cudnn_benchmark=False, backend='nccl',
                     mp_cfg=dict(mp_start_method='fork')),
        log_level='INFO', load_from=None, resume=False)


def ours_main(args: Any) -> None:
    """The Runner on the same work."""
    _common.apply_threads()
    work_dir = os.path.join(args.workdir, 'work')
    runner = _ours_runner(args, work_dir)
    _mark_first_forward(runner.model, args.exit_at_first)
    runner.train()
    sizes = {}
    for epoch in (1, args.max_epochs):
        path = os.path.join(work_dir, f'epoch_{epoch}.pth')
        if os.path.exists(path):
            sizes[epoch] = os.path.getsize(path) / 1024
    _common.report(first_iter_time=_first_iter_time(), ckpt_first_kb=sizes.get(1),
                   ckpt_last_kb=sizes.get(args.max_epochs))


# ---------------------------------------------------------------------------- lightning
def lightning_main(args: Any) -> None:
    """The same with Lightning (untested here: Lightning is not installed on this machine)."""
    import importlib

    import torch
    from torch.utils.data import DataLoader, default_collate
    _common.apply_threads()
    L = importlib.import_module(_common.lightning_module() or 'lightning')
    pl = getattr(L, 'pytorch', L)
    RingsModel, RingsData = _plain_classes()

    class RingsModule(pl.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.model = RingsModel(layers=2)

        def training_step(self, batch: Any, batch_idx: int) -> Any:
            loss = self.model(*batch, 'loss')['loss']
            self.log('loss', loss)
            return loss

        def validation_step(self, batch: Any, batch_idx: int) -> None:
            score, gt = self.model(*batch, 'predict')
            self.log('accuracy', 100 * (score.argmax(dim=1) == gt).float().mean())

        def configure_optimizers(self) -> Any:
            opt = torch.optim.Adam(self.parameters(), lr=0.001)
            sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[4, 8], gamma=0.1)
            return [opt], [sched]

    module = RingsModule()
    _mark_first_forward(module.model, args.exit_at_first)
    checkpoint = pl.callbacks.ModelCheckpoint(every_n_epochs=1, save_top_k=-1)
    trainer = pl.Trainer(max_epochs=args.max_epochs, accelerator='cpu', devices=1,
                         enable_progress_bar=False, num_sanity_val_steps=0,
                         log_every_n_steps=10, callbacks=[checkpoint],
                         default_root_dir=os.path.join(args.workdir, 'work'))
    trainer.fit(module,
                DataLoader(RingsData(True, 10000), batch_size=64, shuffle=True,
                           collate_fn=default_collate, pin_memory=True, num_workers=0),
                DataLoader(RingsData(False, 1000), batch_size=1000, shuffle=False,
                           collate_fn=default_collate, pin_memory=True, num_workers=0))
    _common.report(first_iter_time=_first_iter_time())


WORKERS = dict(plain=plain_main, ours=ours_main, lightning=lightning_main)
