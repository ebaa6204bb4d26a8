"""Free functions that build the Runner's components from objects or config dicts.

Each returns the built object; the Runner facade decides where to keep it. Configs are copied
before anything is popped, so the user's config is never changed.
"""
from __future__ import annotations

import copy
from functools import partial
from typing import TYPE_CHECKING, Any

import torch
import torch.nn as nn
from torch.utils.data import DataLoader

from ..dataset import worker_init_fn as default_worker_init_fn
from ..dist import get_rank, get_world_size
from ..evaluator import BaseMetric, Evaluator
from ..logging import print_log
from ..optim import OptimWrapper, OptimWrapperDict, _ParamScheduler, build_optim_wrapper
from ..registry import (
    DATA_SAMPLERS,
    DATASETS,
    EVALUATOR,
    FUNCTIONS,
    LOG_PROCESSORS,
    LOOPS,
    MODELS,
    PARAM_SCHEDULERS,
)
from ._data_seeding import RunnerDataLoader, wrap_for_keys
from .loops import IterBasedTrainLoop

if TYPE_CHECKING:
    from .runner import Runner


def _require_dict(value: Any, what: str) -> dict:
    if not isinstance(value, dict):
        raise TypeError(f'{what} must be a dict or a built object, but got '
                        f'{type(value).__name__}: {value!r}.')
    return copy.deepcopy(dict(value))


def _build_dataset(dataset_cfg: Any) -> Any:
    if not isinstance(dataset_cfg, dict):
        return dataset_cfg
    dataset = DATASETS.build(dataset_cfg)
    if hasattr(dataset, 'full_init'):
        dataset.full_init()
    return dataset


def _build_collate_fn(collate_cfg: Any) -> Any:
    if callable(collate_cfg):
        return collate_cfg
    cfg = _require_dict(collate_cfg, 'train_dataloader.collate_fn')
    fn_type = cfg.pop('type', None)
    fn = FUNCTIONS.get(fn_type) if isinstance(fn_type, str) else fn_type
    if not callable(fn):
        raise KeyError(FUNCTIONS._missing_key_message(str(fn_type)) if isinstance(fn_type, str)
                       else f'collate_fn type must be a registered name or a callable, but got '
                            f'{fn_type!r}.')
    return partial(fn, **cfg) if cfg else fn


def _build_worker_init_fn(cfg: dict, seed: int | None, num_workers: int) -> Any:
    custom = cfg.pop('worker_init_fn', None)
    if custom is not None:
        if isinstance(custom, dict):
            custom = dict(custom)
            fn = FUNCTIONS.get(custom.pop('type'))
            return partial(fn, **custom)
        return custom
    if seed is None:
        return None
    disable = cfg.pop('disable_subprocess_warning', False)
    return partial(default_worker_init_fn, num_workers=num_workers, rank=get_rank(), seed=seed,
                   disable_subprocess_warning=disable)


def build_dataloader(dataloader: DataLoader | dict, seed: int | None = None,
                     diff_rank_seed: bool = False) -> DataLoader:
    """Build a ``DataLoader`` from a config dict (a built loader is returned as is)."""
    if isinstance(dataloader, DataLoader):
        return dataloader
    cfg = _require_dict(dataloader, 'dataloader')
    if 'dataset' not in cfg:
        raise ValueError(f'A dataloader config needs a `dataset`, but got keys {sorted(cfg)}.')
    if 'sampler' not in cfg:
        raise ValueError('A dataloader config needs a `sampler`, e.g. sampler=dict('
                         "type='DefaultSampler', shuffle=True); got keys "
                         f'{sorted(cfg)}.')
    if 'shuffle' in cfg:
        raise ValueError('`shuffle` cannot be combined with a `sampler` in a dataloader config; '
                         'set shuffle on the sampler instead: sampler=dict(type=\'DefaultSampler'
                         f'\', shuffle={cfg["shuffle"]!r}).')
    dataset = _build_dataset(cfg.pop('dataset'))
    sampler_cfg = cfg.pop('sampler')
    sampler_seed = None if diff_rank_seed else seed
    sampler = (DATA_SAMPLERS.build(sampler_cfg, default_args=dict(dataset=dataset,
                                                                  seed=sampler_seed))
               if isinstance(sampler_cfg, dict) else sampler_cfg)
    batch_sampler_cfg = cfg.pop('batch_sampler', None)
    batch_sampler = None
    if isinstance(batch_sampler_cfg, dict):
        batch_sampler = DATA_SAMPLERS.build(
            batch_sampler_cfg, default_args=dict(sampler=sampler,
                                                 batch_size=cfg.pop('batch_size', 1)))
    elif batch_sampler_cfg is not None:
        batch_sampler = batch_sampler_cfg
    init_fn = _build_worker_init_fn(cfg, seed, cfg.get('num_workers', 0))
    collate_fn = _build_collate_fn(cfg.pop('collate_fn', dict(type='pseudo_collate')))
    # Own generator per pass, and per-sample seeds in deterministic mode: see _data_seeding.
    dataset, keyed = wrap_for_keys(dataset, torch.are_deterministic_algorithms_enabled())
    extra: dict[str, Any] = dict(seed=seed or 0, keyed=keyed)
    if batch_sampler is not None:
        return RunnerDataLoader(dataset=dataset, batch_sampler=batch_sampler,
                                collate_fn=collate_fn, worker_init_fn=init_fn, **extra, **cfg)
    return RunnerDataLoader(dataset=dataset, sampler=sampler, collate_fn=collate_fn,
                            worker_init_fn=init_fn, **extra, **cfg)


def build_model(model: nn.Module | dict, data_preprocessor: dict | None) -> nn.Module:
    """Build the model; ``data_preprocessor`` fills the config's key when absent."""
    if isinstance(model, nn.Module):
        return model
    cfg = _require_dict(model, 'model')
    if data_preprocessor is not None:
        cfg.setdefault('data_preprocessor', data_preprocessor)
    built = MODELS.build(cfg)
    if not isinstance(built, nn.Module):
        raise TypeError(f'model config {model!r} built a {type(built).__name__}, not an '
                        f'nn.Module.')
    return built


def build_runner_optim_wrapper(optim_wrapper: Any, model: nn.Module) -> Any:
    """Build an ``OptimWrapper``/``OptimWrapperDict`` (a raw optimizer is wrapped)."""
    if isinstance(optim_wrapper, (OptimWrapper, OptimWrapperDict)):
        return optim_wrapper
    import torch
    if isinstance(optim_wrapper, torch.optim.Optimizer):
        return OptimWrapper(optim_wrapper)
    if not isinstance(optim_wrapper, dict):
        raise TypeError(f'optim_wrapper must be an OptimWrapper, an optimizer or a config dict, '
                        f'but got {type(optim_wrapper).__name__}.')
    return build_optim_wrapper(model, copy.deepcopy(optim_wrapper))


def _build_scheduler_list(cfgs: Any, optim_wrapper: Any, max_epochs: int, max_iters: int,
                          epoch_length: int | None) -> list:
    cfgs = [cfgs] if isinstance(cfgs, (dict, _ParamScheduler)) else list(cfgs)
    schedulers = []
    for cfg in cfgs:
        if not isinstance(cfg, dict):
            schedulers.append(cfg)
            continue
        cfg = copy.deepcopy(dict(cfg))
        cfg.setdefault('end', max_epochs if cfg.get('by_epoch', True) else max_iters)
        default_args: dict[str, Any] = dict(optimizer=optim_wrapper)
        if epoch_length is not None:
            default_args['epoch_length'] = epoch_length
        schedulers.append(PARAM_SCHEDULERS.build(cfg, default_args=default_args))
    return schedulers


def build_param_schedulers(scheduler: Any, optim_wrapper: Any, max_epochs: int,
                           max_iters: int, epoch_length: int | None) -> list | dict:
    """Build schedulers; with an ``OptimWrapperDict`` a dict keyed like the wrappers."""
    if isinstance(optim_wrapper, OptimWrapperDict):
        keys = list(optim_wrapper.keys())
        if isinstance(scheduler, dict) and set(scheduler) <= set(keys) and 'type' not in scheduler:
            return {k: _build_scheduler_list(v, optim_wrapper[k], max_epochs, max_iters,
                                             epoch_length) for k, v in scheduler.items()}
        return {k: _build_scheduler_list(scheduler, optim_wrapper[k], max_epochs, max_iters,
                                         epoch_length) for k in keys}
    return _build_scheduler_list(scheduler, optim_wrapper, max_epochs, max_iters, epoch_length)


def build_evaluator(evaluator: Any) -> Evaluator:
    """An ``Evaluator`` from an evaluator, a metric config or a list of them."""
    if isinstance(evaluator, Evaluator):
        return evaluator
    if isinstance(evaluator, dict):
        if 'metrics' in evaluator:  # an evaluator config
            cfg = copy.deepcopy(dict(evaluator))
            cfg.setdefault('type', 'Evaluator')
            return EVALUATOR.build(cfg)
        return Evaluator(evaluator)
    if isinstance(evaluator, (list, tuple, BaseMetric)):
        return Evaluator(evaluator if isinstance(evaluator, BaseMetric) else list(evaluator))
    raise TypeError(f'evaluator must be an Evaluator, a metric config dict or a list of them, '
                    f'but got {type(evaluator).__name__}: {evaluator!r}.')


def build_train_loop(loop: Any, runner: Runner) -> Any:
    """Build the training loop: ``type`` or ``by_epoch`` chooses the class."""
    if not isinstance(loop, dict):
        return loop
    cfg = copy.deepcopy(dict(loop))
    if 'type' in cfg:
        if 'by_epoch' in cfg:
            raise ValueError('train_cfg has both `type` and `by_epoch`; give only one of them.')
        return LOOPS.build(cfg, default_args=dict(runner=runner,
                                                  dataloader=runner._train_dataloader))
    by_epoch = cfg.pop('by_epoch', True)
    loop_type = 'EpochBasedTrainLoop' if by_epoch else 'IterBasedTrainLoop'
    return LOOPS.build(dict(type=loop_type, **cfg),
                       default_args=dict(runner=runner, dataloader=runner._train_dataloader))


def build_eval_loop(loop: Any, runner: Runner, mode: str) -> Any:
    """Build the validation (``mode='val'``) or test loop."""
    if not isinstance(loop, dict):
        return loop
    cfg = copy.deepcopy(dict(loop))
    cfg.setdefault('type', 'ValLoop' if mode == 'val' else 'TestLoop')
    dataloader = getattr(runner, f'_{mode}_dataloader')
    evaluator = getattr(runner, f'_{mode}_evaluator')
    return LOOPS.build(cfg, default_args=dict(runner=runner, dataloader=dataloader,
                                              evaluator=evaluator))


def _iteration_based(train_cfg: Any) -> bool:
    if isinstance(train_cfg, dict):
        loop_type = train_cfg.get('type')
        if loop_type is not None:
            return loop_type in ('IterBasedTrainLoop', LOOPS.get('IterBasedTrainLoop'))
        return not train_cfg.get('by_epoch', True)
    return isinstance(train_cfg, IterBasedTrainLoop)


def build_log_processor(log_processor: Any, train_cfg: Any = None) -> Any:
    """A ``LogProcessor`` from an object or a config dict (``type`` optional).

    When the config leaves ``by_epoch`` unset, it follows the training loop: an
    iteration-based run logs ``Iter(train) [10/1000]`` lines rather than epoch-style ones.
    """
    if log_processor is not None and not isinstance(log_processor, dict):
        return log_processor
    cfg = copy.deepcopy(dict(log_processor or {}))
    cfg.setdefault('type', 'LogProcessor')
    if 'by_epoch' not in cfg and _iteration_based(train_cfg):
        cfg['by_epoch'] = False
    return LOG_PROCESSORS.build(cfg)


def scaled_lr_factor(auto_scale_lr: dict | None, batch_size: int) -> float | None:
    """The lr factor ``real total batch size / base_batch_size``, or None when disabled."""
    if not auto_scale_lr or not auto_scale_lr.get('enable', False):
        return None
    if 'base_batch_size' not in auto_scale_lr:
        raise ValueError(f'auto_scale_lr needs base_batch_size, but got {auto_scale_lr!r}.')
    real = batch_size * get_world_size()
    factor = real / auto_scale_lr['base_batch_size']
    print_log(f'LR is scaled by {factor:.4f}: real batch size {real}, base batch size '
              f'{auto_scale_lr["base_batch_size"]}.', logger='current')
    return factor


def compile_forward(model: nn.Module, compile_cfg: bool | dict) -> None:
    """Replace ``model.forward`` by its ``torch.compile``-d version (train and eval share it).

    Args:
        model: The unwrapped model.
        compile_cfg: ``True`` for torch's defaults, or a dict of ``torch.compile`` options
            (``backend``, ``mode``, ``dynamic``, ``fullgraph``, ...).
    """
    import torch
    if compile_cfg is True:
        options: dict = {}
    elif isinstance(compile_cfg, dict):
        options = dict(compile_cfg)
    else:
        raise TypeError(f'compile must be True or a dict of torch.compile options, but got '
                        f'{compile_cfg!r}.')
    print_log(f'Compiling {type(model).__name__}.forward with torch.compile({options})',
              logger='current')
    # An instance attribute shadows the class's forward, so nn.Module.__call__ (and DDP)
    # run the compiled function.
    model.forward = torch.compile(model.forward, **options)


def history_needed(log_processor: Any, epoch_length: int) -> int:
    """How many recent values per scalar a resumed run needs to log exactly as an
    uninterrupted one: the longest smoothing window (an epoch for ``'epoch'`` windows)."""
    from ..logging.message_hub import RESUME_HISTORY_LENGTH
    windows = [getattr(log_processor, 'window_size', 10)]
    windows += [c.get('window_size', 10) for c in getattr(log_processor, 'custom_cfg', [])]
    needed = 1
    for window in windows:
        if isinstance(window, int):
            needed = max(needed, window)
        elif window == 'epoch':
            needed = max(needed, epoch_length)
        else:  # 'global' averages everything: keep the most we ever keep
            needed = max(needed, RESUME_HISTORY_LENGTH)
    return needed
