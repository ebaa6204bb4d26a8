"""Schedule simulation and plotting for ``plot-lr`` and ``plot-logs`` (matplotlib, lazily)."""
from __future__ import annotations

import json
from typing import Any

import torch


def _epoch_length(cfg: Any) -> int:
    from ..runner import Runner
    loader_cfg = cfg.get('train_dataloader')
    if loader_cfg is None:
        raise ValueError('plot-lr needs train_dataloader in the config (for the epoch length).')
    loader = Runner.build_dataloader(loader_cfg, seed=0)
    return len(loader)


def simulate_schedule(cfg: Any, param: str) -> tuple[list[int], list[float], int]:
    """Step the config's schedulers over the whole training on a one-parameter optimizer.

    Returns:
        ``(iterations, values, epoch_length)``.
    """
    from ..optim import build_optim_wrapper
    from ..runner._build import build_param_schedulers
    train_cfg = dict(cfg.get('train_cfg') or {})
    epoch_length = _epoch_length(cfg)
    by_epoch = train_cfg.get('by_epoch', True) and 'max_iters' not in train_cfg
    max_iters = (train_cfg['max_epochs'] * epoch_length if by_epoch
                 else train_cfg['max_iters'])
    max_epochs = train_cfg.get('max_epochs', -(-max_iters // epoch_length))
    model = torch.nn.Linear(1, 1)
    optim_wrapper = build_optim_wrapper(model, dict(cfg.optim_wrapper))
    schedulers = build_param_schedulers(cfg.get('param_scheduler') or [], optim_wrapper,
                                        max_epochs, max_iters, epoch_length)
    steps, values = [], []
    for iteration in range(max_iters):
        group = optim_wrapper.param_groups[0]
        value = group.get(param)
        if value is None and param == 'momentum' and 'betas' in group:
            value = group['betas'][0]
        steps.append(iteration)
        values.append(float(value if value is not None else 0.0))
        for scheduler in schedulers:
            if not scheduler.by_epoch:
                scheduler.step()
        if (iteration + 1) % epoch_length == 0:
            for scheduler in schedulers:
                if scheduler.by_epoch:
                    scheduler.step()
    return steps, values, epoch_length


def plot_schedule(steps: list[int], values: list[float], epoch_length: int, param: str,
                  out: str) -> None:
    """Draw the per-iteration values with epoch boundaries marked."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.plot(steps, values)
    for boundary in range(epoch_length, len(steps), epoch_length):
        ax.axvline(boundary, color='0.85', linewidth=0.5)
    ax.set_xlabel('iteration (grey lines: epochs)')
    ax.set_ylabel(param)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)


def read_scalars(path: str, keys: list[str]) -> dict[str, list[tuple[float, float]]]:
    """``{key: [(step, value), ...]}`` for each requested key found in a scalars.json."""
    series: dict[str, list[tuple[float, float]]] = {key: [] for key in keys}
    found: set[str] = set()
    with open(path) as file:
        for line in file:
            if not line.strip():
                continue
            record = json.loads(line)
            found.update(record)
            for key in keys:
                if key in record:
                    series[key].append((record.get('step', len(series[key])), record[key]))
    missing = [key for key, points in series.items() if not points]
    if missing:
        available = ', '.join(sorted(found - {'step', 'epoch', 'iter'})) or 'none'
        raise ValueError(f'{path} has no values for {", ".join(missing)}; the scalars it '
                         f'holds are: {available}. Pass some of them with --keys.')
    return series


def plot_scalars(series: dict[str, list[tuple[float, float]]], out: str) -> None:
    """One subplot per key."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(len(series), 1, figsize=(8, 3 * len(series)), squeeze=False)
    for ax, (key, points) in zip(axes[:, 0], series.items()):
        # markers when points are few: a single validation result is otherwise invisible
        ax.plot([p[0] for p in points], [p[1] for p in points],
                marker='o' if len(points) <= 50 else None)
        ax.set_title(key)
        ax.set_ylabel(key)
        # training scalars are logged per iteration; validation metrics per epoch
        # (epoch-based runs) or per iteration (iteration-based runs)
        ax.set_xlabel('step')
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
