"""Free functions that build the Runner's components from objects or config dicts.

Each returns the built object; the Runner facade decides where to keep it. Configs are copied
before anything is popped, so the user's config is never changed.
"""
from __future__ import annotations

import copy
from functools import partial
from typing import TYPE_CHECKING, Any

import torch.nn as nn
from torch.utils.data import DataLoader

from ..dataset import worker_init_fn as default_worker_init_fn
from ..device import get_device
from ..dist import get_rank, get_world_size
from ..evaluator import BaseMetric, Evaluator
from ..logging import print_log
from ..model import convert_sync_batchnorm, is_model_wrapper, revert_sync_batchnorm
from ..optim import OptimWrapper, OptimWrapperDict, _ParamScheduler, build_optim_wrapper
from ..registry import (
    DATA_SAMPLERS,
    DATASETS,
    EVALUATOR,
    FUNCTIONS,
    LOG_PROCESSORS,
    LOOPS,
    MODEL_WRAPPERS,
    MODELS,
    PARAM_SCHEDULERS,
)
from .log_processor import LogProcessor

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
    if batch_sampler is not None:
        return DataLoader(dataset=dataset, batch_sampler=batch_sampler, collate_fn=collate_fn,
                          worker_init_fn=init_fn, **cfg)
    return DataLoader(dataset=dataset, sampler=sampler, collate_fn=collate_fn,
                      worker_init_fn=init_fn, **cfg)


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


def wrap_model(model: nn.Module, wrapper_cfg: dict | None, distributed: bool,
               sync_bn: str | None, find_unused_parameters: bool) -> nn.Module:
    """Move ``model`` to the device and wrap it for distributed training."""
    if is_model_wrapper(model):
        if wrapper_cfg is not None:
            raise TypeError('model_wrapper_cfg is given but the model is already wrapped by '
                            f'{type(model).__name__}; pass the bare model instead.')
        return model
    model = model.to(get_device())
    if not distributed:
        return revert_sync_batchnorm(model)
    if sync_bn == 'torch':
        model = convert_sync_batchnorm(model)
    elif sync_bn is not None:
        raise ValueError(f"sync_bn must be 'torch' or None, but got {sync_bn!r}.")
    cfg = dict(wrapper_cfg) if wrapper_cfg is not None else dict(
        type='MMDistributedDataParallel', find_unused_parameters=find_unused_parameters)
    if get_device() == 'cuda':
        import torch
        cfg.setdefault('device_ids', [torch.cuda.current_device()])
    return MODEL_WRAPPERS.build(cfg, default_args=dict(module=model))


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


def build_log_processor(log_processor: Any) -> Any:
    """A ``LogProcessor`` from an object or a config dict (``type`` optional)."""
    if log_processor is None:
        return LogProcessor()
    if not isinstance(log_processor, dict):
        return log_processor
    cfg = copy.deepcopy(dict(log_processor))
    cfg.setdefault('type', 'LogProcessor')
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
