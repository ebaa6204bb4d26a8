"""GPU benchmark: ResNet-50 on CIFAR-10-shaped fake data, plain PyTorch loop vs our Runner.

    python benchmarks/gpu_bench.py [--iters 100] [--warmup-iters 15] [--settings ...]
        [--compile] [--json out.json]

One command, a few minutes on one GPU. Settings (each variant of each setting runs in its
own fresh subprocess, plain and ours alternating):

* ``seed``: the 15-minute workload as the seed writes it: batch 32, fp32, PIL transforms
  (RandomCrop(32, padding=4), RandomHorizontalFlip, ToTensor, Normalize), ``num_workers=0``.
* ``gpu_bound``: batch 256, bf16 autocast, channels_last, 8 workers, pinned memory, uint8
  tensors from the loader normalized on the device (ours: ``ImgDataPreprocessor``,
  ``AmpOptimWrapper(dtype='bfloat16')``).
* ``recommended``: ``gpu_bound`` plus random crop (pad 4) and horizontal flip of the uint8
  batch on the device, before normalization (ours: ``ImgDataPreprocessor(batch_augments=
  [BatchRandomCrop(32, padding=4), BatchRandomFlip()])``; plain: the same by hand, see
  ``device_augment``); target: >= 80 % of ``ceiling`` images/s.
* ``ceiling``: the ``gpu_bound`` step on batches already resident on the GPU (no loader).
* ``compile`` (with ``--compile``): ``gpu_bound`` with ``torch.compile`` (plain) and
  ``cfg.compile=True`` (ours).

Figures per setting and variant: images/s over the timed iterations (synchronized at both
ends) and the time from process start to the first training iteration. Iterations that do not
log (ours: LoggerHook interval 10; plain: ``loss.item()`` every 10) run under
``torch.cuda.set_sync_debug_mode('error')``: a host-device synchronization there fails the
run, which is then repeated under ``'warn'`` to report where the syncs come from.

torchvision is optional (a hand-written ResNet-50 and tensor transforms are used without
it). Without CUDA it runs on the CPU for a smoke test (``--smoke``: tiny sizes). A JSON
summary is printed at the end.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import traceback
import warnings
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402

MEAN = (125.307, 122.961, 113.8575)
STD = (51.5865, 50.847, 51.255)
LOG_INTERVAL = 10
SETTINGS = dict(
    seed=dict(batch=32, bf16=False, channels_last=False, workers=0, pin=False, pil=True),
    gpu_bound=dict(batch=256, bf16=True, channels_last=True, workers=8, pin=True, pil=False),
    recommended=dict(batch=256, bf16=True, channels_last=True, workers=8, pin=True,
                     pil=False, augment=True),
    ceiling=dict(batch=256, bf16=True, channels_last=True, workers=0, pin=False, pil=False,
                 resident=True),
    compile=dict(batch=256, bf16=True, channels_last=True, workers=8, pin=True, pil=False,
                 compile=True),
)


# ---------------------------------------------------------------------------- model
def resnet50(num_classes: int = 10) -> Any:
    """torchvision's ResNet-50, or a hand-written equivalent when torchvision is missing."""
    try:
        import torchvision
        return torchvision.models.resnet50(num_classes=num_classes)
    except Exception:  # torchvision absent or broken: same architecture by hand
        return _HandResNet50(num_classes)


def _hand_resnet_classes() -> Any:
    import torch.nn as nn

    class Bottleneck(nn.Module):
        def __init__(self, cin: int, width: int, stride: int) -> None:
            super().__init__()
            cout = width * 4
            self.body = nn.Sequential(
                nn.Conv2d(cin, width, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(True),
                nn.Conv2d(width, width, 3, stride, 1, bias=False), nn.BatchNorm2d(width),
                nn.ReLU(True), nn.Conv2d(width, cout, 1, bias=False), nn.BatchNorm2d(cout))
            self.down = None
            if stride != 1 or cin != cout:
                self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                          nn.BatchNorm2d(cout))
            self.relu = nn.ReLU(True)

        def forward(self, x: Any) -> Any:
            identity = x if self.down is None else self.down(x)
            return self.relu(self.body(x) + identity)

    class ResNet50(nn.Module):
        def __init__(self, num_classes: int) -> None:
            super().__init__()
            layers: list[nn.Module] = [nn.Conv2d(3, 64, 7, 2, 3, bias=False),
                                       nn.BatchNorm2d(64), nn.ReLU(True), nn.MaxPool2d(3, 2, 1)]
            cin = 64
            for width, blocks, stride in ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)):
                for b in range(blocks):
                    layers.append(Bottleneck(cin, width, stride if b == 0 else 1))
                    cin = width * 4
            self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
            self.fc = nn.Linear(cin, num_classes)

        def forward(self, x: Any) -> Any:
            return self.fc(self.features(x))

    return ResNet50


def _HandResNet50(num_classes: int) -> Any:  # noqa: N802 - reads as a class at call sites
    return _hand_resnet_classes()(num_classes)


# ---------------------------------------------------------------------------- data
class FakeCifar:
    """CIFAR-10-shaped samples: uint8 HWC images (PIL path) or uint8 CHW tensors."""

    def __init__(self, n: int, pil: bool, as_dict: bool) -> None:
        import numpy as np
        rng = np.random.default_rng(0)
        self.images = rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
        self.labels = rng.integers(0, 10, n)
        self.pil, self.as_dict = pil, as_dict
        self.transform = _pil_transform() if pil else None

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> Any:
        import torch
        if self.pil:
            img = self.transform(self.images[i])
        else:
            img = torch.from_numpy(self.images[i]).permute(2, 0, 1).contiguous()
        label = int(self.labels[i])
        return dict(inputs=img, data_samples=label) if self.as_dict else (img, label)


def _pil_transform() -> Any:
    """The seed's PIL pipeline (torchvision), or the same steps on tensors without it."""
    try:
        import torchvision.transforms as T
        from PIL import Image
        pipeline = T.Compose([T.RandomCrop(32, padding=4), T.RandomHorizontalFlip(),
                              T.ToTensor(), T.Normalize([m / 255 for m in MEAN],
                                                        [s / 255 for s in STD])])
        return lambda array: pipeline(Image.fromarray(array))
    except Exception:
        import torch
        import torch.nn.functional as F
        mean = torch.tensor(MEAN).view(3, 1, 1) / 255
        std = torch.tensor(STD).view(3, 1, 1) / 255

        def transform(array: Any) -> Any:
            img = torch.from_numpy(array).permute(2, 0, 1).float() / 255
            img = F.pad(img, (4, 4, 4, 4))
            y, x = (int(v) for v in torch.randint(0, 9, (2,)))
            img = img[:, y:y + 32, x:x + 32]
            if torch.rand(()) < 0.5:
                img = img.flip(2)
            return (img - mean) / std
        return transform


def device_augment(x: Any) -> Any:
    """Random crop (pad 4) and horizontal flip of a whole batch on its device, no sync.

    The plain loop's hand-written counterpart of the engine's ``BatchRandomCrop(32,
    padding=4)`` + ``BatchRandomFlip()``: applied to the raw (uint8) batch, pad value 0.
    """
    import torch
    import torch.nn.functional as F
    n = x.shape[0]
    padded = F.pad(x, (4, 4, 4, 4))
    # Per-sample shifts via an index gather (no data-dependent Python control flow).
    dy = torch.randint(0, 9, (n, 1, 1), device=x.device)
    dx = torch.randint(0, 9, (n, 1, 1), device=x.device)
    ar = torch.arange(32, device=x.device)
    rows = (dy + ar.view(1, 32, 1)).expand(n, 32, 32)
    cols = (dx + ar.view(1, 1, 32)).expand(n, 32, 32)
    batch = torch.arange(n, device=x.device).view(n, 1, 1)
    x = padded.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2)  # n, C, 32, 32
    flip = torch.rand(n, 1, 1, 1, device=x.device) < 0.5
    return torch.where(flip, x.flip(3), x)


def _loader(cfg: dict, n: int, as_dict: bool, seed_kwargs: dict | None = None) -> Any:
    from torch.utils.data import DataLoader
    return DataLoader(FakeCifar(n, cfg['pil'], as_dict), batch_size=cfg['batch'], shuffle=True,
                      num_workers=cfg['workers'], pin_memory=cfg['pin'], drop_last=True,
                      persistent_workers=cfg['workers'] > 0, **(seed_kwargs or {}))


# ---------------------------------------------------------------------------- timing
class _Clock:
    """Marks the first iteration, starts the timed span after warm-up, guards syncs."""

    def __init__(self, args: Any, batch: int) -> None:
        self.args, self.batch = args, batch
        self.first: float | None = None
        self.t0: float | None = None
        self.t1: float | None = None
        self.sync_mode = args.sync_mode

    def before(self, i: int) -> None:
        import torch
        if self.first is None:
            self.first = time.time()
        if i == self.args.warmup_iters:
            torch.cuda.synchronize() if torch.cuda.is_available() else None
            self.t0 = time.perf_counter()
        if torch.cuda.is_available() and self.t0 is not None and (i + 1) % LOG_INTERVAL:
            torch.cuda.set_sync_debug_mode(self.sync_mode)

    def after(self, i: int) -> None:
        import torch
        if torch.cuda.is_available():
            torch.cuda.set_sync_debug_mode(0)
        if i == self.args.warmup_iters + self.args.iters - 1:
            torch.cuda.synchronize() if torch.cuda.is_available() else None
            self.t1 = time.perf_counter()

    def report(self, **extra: Any) -> None:
        ips = None
        if self.t0 is not None and self.t1 is not None:
            ips = self.args.iters * self.batch / (self.t1 - self.t0)
        _common.report(images_per_s=ips, first_iter_time=self.first, **extra)


def _device() -> Any:
    import torch
    return torch.device('cuda' if torch.cuda.is_available() else 'cpu')


# ---------------------------------------------------------------------------- plain
def plain_worker(args: Any) -> None:
    import torch
    import torch.nn.functional as F
    cfg = SETTINGS[args.setting]
    dev = _device()
    total = args.warmup_iters + args.iters
    model = resnet50().to(dev)
    if cfg['channels_last']:
        model = model.to(memory_format=torch.channels_last)
    if cfg.get('compile'):
        model = torch.compile(model)
    opt = torch.optim.SGD(model.parameters(), lr=0.001, momentum=0.9)
    mean = torch.tensor(MEAN, device=dev).view(1, 3, 1, 1)
    std = torch.tensor(STD, device=dev).view(1, 3, 1, 1)
    batches = _plain_batches(cfg, total, dev)
    clock = _Clock(args, cfg['batch'])
    model.train()
    for i, (x, y) in enumerate(batches):
        if i >= total:
            break
        clock.before(i)
        x = x.to(dev, non_blocking=True)
        y = y.to(dev, non_blocking=True)
        if not cfg['pil']:
            if cfg.get('augment'):
                x = device_augment(x)  # on the uint8 batch, as the engine does
            x = (x.float() - mean) / std
        if cfg['channels_last']:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=cfg['bf16']):
            loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        if (i + 1) % LOG_INTERVAL == 0:
            print(f'iter {i + 1} loss {loss.item():.4f}')
        clock.after(i)
    clock.report()


def _plain_batches(cfg: dict, total: int, dev: Any) -> Any:
    import itertools

    import torch
    if cfg.get('resident'):
        g = torch.Generator().manual_seed(0)
        x = torch.randint(0, 256, (cfg['batch'], 3, 32, 32), dtype=torch.uint8, generator=g)
        y = torch.randint(0, 10, (cfg['batch'],), generator=g)
        return itertools.repeat((x.to(dev), y.to(dev)), total)
    loader = _loader(cfg, total * cfg['batch'], as_dict=False)
    return itertools.chain.from_iterable(itertools.repeat(loader))


# ---------------------------------------------------------------------------- ours
def ours_worker(args: Any) -> None:
    import torch
    import torch.nn.functional as F

    from mmengine.hooks import Hook
    from mmengine.model import BaseModel, BatchRandomCrop, BatchRandomFlip, ImgDataPreprocessor
    from mmengine.runner import Runner
    cfg = SETTINGS[args.setting]
    total = args.warmup_iters + args.iters
    clock = _Clock(args, cfg['batch'])

    class MMResNet50(BaseModel):
        def __init__(self, data_preprocessor: Any = None) -> None:
            super().__init__(data_preprocessor=data_preprocessor)
            self.resnet = resnet50()

        def forward(self, inputs: Any, data_samples: Any, mode: str = 'tensor') -> Any:
            if cfg['channels_last']:
                inputs = inputs.contiguous(memory_format=torch.channels_last)
            out = self.resnet(inputs)
            if mode == 'loss':
                return {'loss': F.cross_entropy(out, data_samples)}
            return out

    class ClockHook(Hook):
        priority = 'HIGHEST'

        def before_train_iter(self, runner: Any, batch_idx: int, data_batch: Any = None
                              ) -> None:
            clock.before(runner.iter)

    class ClockEndHook(Hook):
        priority = 'LOWEST'

        def after_train_iter(self, runner: Any, batch_idx: int, data_batch: Any = None,
                             outputs: Any = None) -> None:
            clock.after(runner.iter)

    if cfg['pil']:
        preprocessor: Any = None  # the seed's way: transforms in the dataset
    else:
        augments = [BatchRandomCrop(32, padding=4), BatchRandomFlip()] \
            if cfg.get('augment') else None
        preprocessor = ImgDataPreprocessor(mean=MEAN, std=STD, non_blocking=cfg['pin'],
                                           batch_augments=augments)
    model = MMResNet50(preprocessor)
    if cfg['channels_last']:
        model = model.to(memory_format=torch.channels_last)
    optim = dict(optimizer=dict(type='SGD', lr=0.001, momentum=0.9))
    if cfg['bf16']:
        optim.update(type='AmpOptimWrapper', dtype='bfloat16')
    loader = _ours_loader(cfg, total)
    runner = Runner(
        model=model, work_dir=os.path.join(args.workdir, 'work'),
        train_dataloader=loader, train_cfg=dict(by_epoch=False, max_iters=total),
        optim_wrapper=optim, default_hooks=dict(checkpoint=None),
        custom_hooks=[ClockHook(), ClockEndHook()],
        cfg=dict(compile=True) if cfg.get('compile') else None)
    runner.train()
    clock.report(compile_applied=bool(cfg.get('compile')) and _is_compiled(runner.model))


def _ours_loader(cfg: dict, total: int) -> Any:
    if not cfg.get('resident'):
        return dict(dataset=FakeCifar(total * cfg['batch'], cfg['pil'], as_dict=True),
                    sampler=dict(type='DefaultSampler', shuffle=True),
                    collate_fn=dict(type='default_collate'), batch_size=cfg['batch'],
                    num_workers=cfg['workers'], pin_memory=cfg['pin'],
                    persistent_workers=cfg['workers'] > 0)
    import torch
    from torch.utils.data import DataLoader
    g = torch.Generator().manual_seed(0)
    dev = _device()
    batch = dict(inputs=torch.randint(0, 256, (cfg['batch'], 3, 32, 32), dtype=torch.uint8,
                                      generator=g).to(dev),
                 data_samples=torch.randint(0, 10, (cfg['batch'],), generator=g).to(dev))
    # batch_size=None: the "dataset" yields ready batches already on the device.
    return DataLoader(_Repeat(batch, total), batch_size=None, shuffle=False)


class _Repeat:
    def __init__(self, item: Any, n: int) -> None:
        self.item, self.n = item, n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> Any:
        if i >= self.n:
            raise IndexError(i)
        return self.item


def _is_compiled(model: Any) -> bool:
    inner = getattr(model, 'module', model)
    return any(type(m).__name__ == 'OptimizedModule' for m in (inner, *inner.children())) or \
        hasattr(getattr(inner, 'forward', None), '_torchdynamo_orig_callable')


WORKERS = dict(plain=plain_worker, ours=ours_worker)


# ---------------------------------------------------------------------------- driver
def _run(args: Any, name: str, setting: str, mode: str) -> dict[str, Any]:
    extra = ['--setting', setting, '--iters', str(args.iters), '--warmup-iters',
             str(args.warmup_iters), '--sync-mode', mode]
    try:
        run = _common.run_child(__file__, name, extra, timeout=args.child_timeout)
    except (RuntimeError, TimeoutError) as exc:
        return dict(error=str(exc)[-2500:])
    run['first_iter_s'] = run['result']['first_iter_time'] - run['spawn_time'] \
        if run['result'].get('first_iter_time') else None
    return run


def _run_setting(args: Any, setting: str, summary: dict) -> None:
    per: dict[str, list[dict]] = {'plain': [], 'ours': []}
    notes: dict[str, str] = {}
    for r in range(args.runs):
        for name in (('plain', 'ours') if r % 2 == 0 else ('ours', 'plain')):
            run = _run(args, name, setting, args.sync_mode)
            if 'error' in run and 'synchroniz' in run['error']:
                notes[name] = 'host-device sync on a non-logging iteration: ' + \
                    run['error'].strip().splitlines()[-1]
                run = _run(args, name, setting, 'warn')
            if 'error' in run:
                notes[name] = 'failed: ' + run['error'].strip().splitlines()[-1]
                print(f'# {setting} {name}: FAILED\n{run["error"]}', flush=True)
                continue
            per[name].append(run)
            print(f'# {setting:12} {name:6} {run["result"].get("images_per_s") or 0:10.1f} img/s'
                  f'  first iter {run["first_iter_s"] or 0:6.2f} s', flush=True)
    out: dict[str, Any] = {}
    for name, runs in per.items():
        ips = [r['result']['images_per_s'] for r in runs if r['result'].get('images_per_s')]
        first = [r['first_iter_s'] for r in runs if r.get('first_iter_s')]
        out[name] = dict(images_per_s=statistics.median(ips) if ips else None,
                         first_iter_s=statistics.median(first) if first else None,
                         runs=len(runs), note=notes.get(name, ''))
        syncs = sorted({s for r in runs for s in r['result'].get('sync_warnings', [])})
        if syncs:
            out[name]['sync_locations'] = syncs
        if setting == 'compile' and name == 'ours' and runs:
            out[name]['compile_applied'] = runs[0]['result'].get('compile_applied')
    if out['plain']['images_per_s'] and out['ours']['images_per_s']:
        out['ours']['ratio'] = out['ours']['images_per_s'] / out['plain']['images_per_s']
    summary[setting] = out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--iters', type=int, default=100, help='timed iterations per run')
    parser.add_argument('--warmup-iters', type=int, default=15)
    parser.add_argument('--runs', type=int, default=1, help='alternating runs per variant')
    parser.add_argument('--settings', nargs='+', default=['seed', 'gpu_bound', 'recommended',
                                                          'ceiling'], choices=list(SETTINGS))
    parser.add_argument('--compile', action='store_true', help='add the compile setting')
    parser.add_argument('--smoke', action='store_true', help='tiny run (CPU check)')
    parser.add_argument('--sync-mode', default='error', choices=('error', 'warn'))
    parser.add_argument('--child-timeout', type=float, default=600)
    parser.add_argument('--json', metavar='PATH')
    parser.add_argument('--worker', help=argparse.SUPPRESS)
    parser.add_argument('--workdir', help=argparse.SUPPRESS)
    parser.add_argument('--setting', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.smoke:
        args.iters, args.warmup_iters = 3, 2
        for cfg in SETTINGS.values():
            cfg.update(batch=4, workers=min(cfg['workers'], 2))
    if args.worker:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            try:
                WORKERS[args.worker](args)
            except Exception:
                traceback.print_exc()
                sys.exit(1)
        syncs = sorted({f'{w.filename}:{w.lineno}: {str(w.message)[:100]}' for w in caught
                        if 'synchroniz' in str(w.message)})
        if syncs:
            _common.report(sync_warnings=syncs[:10])
        return
    import torch
    settings = list(args.settings) + (['compile'] if args.compile else [])
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else 'cpu (no CUDA)'
    print(f'# gpu_bench on {device}, torch {torch.__version__}; settings {settings}; '
          f'{args.iters} timed + {args.warmup_iters} warm-up iterations per run', flush=True)
    summary: dict[str, Any] = {}
    start = time.perf_counter()
    for setting in settings:
        _run_setting(args, setting, summary)
    ceiling = summary.get('ceiling', {}).get('plain', {}).get('images_per_s')
    rec = summary.get('recommended', {}).get('ours', {}).get('images_per_s')
    result = dict(device=device, torch=torch.__version__, iters=args.iters,
                  settings=summary, total_s=time.perf_counter() - start,
                  recommended_vs_ceiling=rec / ceiling if rec and ceiling else None)
    text = json.dumps(result, indent=2)
    print('\n== gpu_bench summary (JSON) ==')
    print(text)
    if args.json:
        with open(args.json, 'w') as f:
            f.write(text)


if __name__ == '__main__':
    main()
