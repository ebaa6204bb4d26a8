"""Check a full config before any work starts and report every problem at once.

Each problem names its config key path (``train_dataloader.sampler.shufle``) and says what is
wrong and what to do. Only what can be known without building is checked: registry names
(with did-you-mean), constructor arguments against the constructor's signature, required
dataloader keys, and combinations of loop, schedulers and validation that cannot work.
"""
from __future__ import annotations

import difflib
import inspect
import os.path as osp
from typing import Any

from ..registry import (
    DATA_SAMPLERS,
    DATASETS,
    EVALUATOR,
    FUNCTIONS,
    HOOKS,
    LOG_PROCESSORS,
    LOOPS,
    METRICS,
    MODELS,
    OPTIM_WRAPPER_CONSTRUCTORS,
    OPTIM_WRAPPERS,
    OPTIMIZERS,
    PARAM_SCHEDULERS,
    TRANSFORMS,
    VISBACKENDS,
    VISUALIZERS,
    DefaultScope,
    Registry,
)

# Arguments the runner or a builder passes itself, per registry.
_INJECTED: dict[str, set[str]] = {
    'loop': {'runner', 'dataloader', 'evaluator'},
    'data sampler': {'dataset', 'seed', 'sampler', 'batch_size'},
    'optimizer': {'params'},
    'optim_wrapper': {'optimizer'},
    'parameter scheduler': {'optimizer', 'epoch_length', 'convert_to_iter_based'},
    'hook': {'priority'},
    'visualizer': {'name', 'save_dir'},
    'vis_backend': {'save_dir'},
    'model': {'data_preprocessor'},
    'optimizer wrapper constructor': {'optim_wrapper_cfg', 'paramwise_cfg'},
}

_DATALOADER_KEYS = {'batch_size', 'num_workers', 'pin_memory', 'drop_last', 'timeout',
                    'persistent_workers', 'prefetch_factor', 'worker_init_fn', 'generator',
                    'multiprocessing_context', 'pin_memory_device', 'in_order',
                    'disable_subprocess_warning'}


def _signature(obj: Any) -> inspect.Signature | None:
    try:
        return inspect.signature(obj)
    except (TypeError, ValueError):
        return None


def _check_args(obj: Any, args: dict, path: str, injected: set[str]) -> list[str]:
    sig = _signature(obj)
    if sig is None:
        return []
    params = dict(sig.parameters)
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        # **kwargs forwarded to a base class (e.g. LRSchedulerMixin): check against the
        # named parameters up the MRO, until an __init__ that takes no **kwargs.
        params = _forwarded_params(obj)
        if params is None:
            return []
        return _unknown_args(obj, args, path, injected, params)
    problems = _unknown_args(obj, args, path, injected, params)
    name = getattr(obj, '__name__', repr(obj))
    for pname, param in params.items():
        if (param.default is param.empty and param.kind in (param.POSITIONAL_OR_KEYWORD,
                                                            param.KEYWORD_ONLY)
                and pname not in args and pname not in injected and pname != 'self'):
            problems.append(f'{path}: {name} needs the argument {pname!r}, which is missing.')
    return problems


def _forwarded_params(obj: Any) -> dict | None:
    """Named ``__init__`` parameters along the MRO of class ``obj`` up to the first
    ``__init__`` without ``**kwargs``; None when every one takes ``**kwargs``."""
    if not isinstance(obj, type):
        return None
    params: dict = {}
    for klass in obj.__mro__[:-1]:
        if '__init__' not in vars(klass):
            continue
        sig = _signature(vars(klass)['__init__'])
        if sig is None:
            return None
        params.update({k: p for k, p in sig.parameters.items()
                       if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)})
        var_kw = [k for k, p in sig.parameters.items() if p.kind is p.VAR_KEYWORD]
        if not var_kw:
            return params
        if not _forwards_to_super(vars(klass)['__init__'], var_kw[0]):
            return None  # **kwargs used some other way: anything may be valid
    return None


def _forwards_to_super(init: Any, var_kw: str) -> bool:
    """Whether ``init`` passes its ``**var_kw`` on to ``super().__init__``."""
    try:
        source = inspect.getsource(init)
    except (OSError, TypeError):
        return False
    call = 'super().__init__('
    start = source.find(call)
    if start < 0:
        return False
    start += len(call)
    return f'**{var_kw}' in source[start:source.find(')', start) + 1]


def _unknown_args(obj: Any, args: dict, path: str, injected: set[str], params: dict
                  ) -> list[str]:
    name = getattr(obj, '__name__', repr(obj))
    problems = []
    for key in args:
        if key not in params and key not in injected and not key.startswith('_'):
            close = difflib.get_close_matches(key, list(params), n=1)
            hint = f' Did you mean {close[0]!r}?' if close else ''
            problems.append(f'{path}.{key}: {name} has no argument {key!r}.{hint} '
                            f'Valid arguments: {", ".join(p for p in params if p != "self")}.')
    return problems


def _check_built(cfg: Any, registry: Registry, path: str, default_type: str | None = None,
                 skip: tuple[str, ...] = ()) -> list[str]:
    """Check one ``dict(type=..., **args)`` against ``registry``."""
    if not isinstance(cfg, dict):
        return []
    obj_type = cfg.get('type', default_type)
    if obj_type is None:
        return [f'{path}: the config needs a "type" naming a class in registry '
                f'{registry.name!r}.']
    with registry.switch_scope_and_registry(cfg.get('_scope_')) as scoped:
        obj = scoped.get(obj_type) if isinstance(obj_type, str) else obj_type
        if obj is None:
            return [f'{path}.type: {scoped._missing_key_message(obj_type)}']
    args = {k: v for k, v in cfg.items() if k not in ('type', '_scope_') and k not in skip}
    return _check_args(obj, args, path, _INJECTED.get(registry.name, set()))


def _check_dataset(cfg: Any, path: str) -> list[str]:
    if not isinstance(cfg, dict):
        return []
    problems = _check_built(cfg, DATASETS, path)
    for index, transform in enumerate(cfg.get('pipeline') or []):
        problems += _check_built(transform, TRANSFORMS, f'{path}.pipeline.{index}')
    for key in ('dataset',):
        if isinstance(cfg.get(key), dict):
            problems += _check_dataset(cfg[key], f'{path}.{key}')
    for index, sub in enumerate(cfg.get('datasets') or []):
        problems += _check_dataset(sub, f'{path}.datasets.{index}')
    return problems


def _check_dataloader(cfg: Any, path: str) -> list[str]:
    if not isinstance(cfg, dict):
        return []
    problems = []
    if 'dataset' not in cfg:
        problems.append(f'{path}: a dataloader config needs `dataset`.')
    if 'sampler' not in cfg:
        problems.append(f'{path}: a dataloader config needs `sampler`, e.g. sampler=dict('
                        f"type='DefaultSampler', shuffle=True).")
    if 'shuffle' in cfg:
        problems.append(f'{path}.shuffle: set shuffle on the sampler, not on the dataloader.')
    problems += _check_dataset(cfg.get('dataset'), f'{path}.dataset')
    problems += _check_built(cfg.get('sampler'), DATA_SAMPLERS, f'{path}.sampler')
    problems += _check_built(cfg.get('batch_sampler'), DATA_SAMPLERS, f'{path}.batch_sampler')
    collate = cfg.get('collate_fn')
    if isinstance(collate, dict) and isinstance(collate.get('type'), str) and \
            FUNCTIONS.get(collate['type']) is None:
        problems.append(f'{path}.collate_fn.type: '
                        f'{FUNCTIONS._missing_key_message(collate["type"])}')
    known = {'dataset', 'sampler', 'batch_sampler', 'collate_fn', 'shuffle'} | _DATALOADER_KEYS
    for key in cfg:
        if key not in known:
            close = difflib.get_close_matches(key, sorted(known), n=1)
            hint = f' Did you mean {close[0]!r}?' if close else ''
            problems.append(f'{path}.{key}: DataLoader has no argument {key!r}.{hint}')
    return problems


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _check_train(cfg: Any) -> list[str]:
    train_cfg = cfg.get('train_cfg')
    if not isinstance(train_cfg, dict):
        return []
    args = dict(train_cfg)
    by_epoch = args.pop('by_epoch', True)
    default = 'EpochBasedTrainLoop' if by_epoch else 'IterBasedTrainLoop'
    problems = _check_built(args, LOOPS, 'train_cfg', default_type=default)
    loop_type = args.get('type', default)
    iter_based = loop_type == 'IterBasedTrainLoop' or loop_type is LOOPS.get('IterBasedTrainLoop')
    for index, sched in enumerate(_as_list(cfg.get('param_scheduler'))):
        if (iter_based and isinstance(sched, dict) and sched.get('by_epoch', True)
                and not sched.get('convert_to_iter_based', False)):
            problems.append(
                f'param_scheduler.{index}: by_epoch=True with an iteration-based training loop '
                f'steps only once, at the end of training. Set by_epoch=False (and give begin/'
                f'end in iterations) or convert_to_iter_based=True.')
    if ('val_interval' in train_cfg or 'val_begin' in train_cfg) and \
            cfg.get('val_dataloader') is None:
        problems.append('train_cfg.val_interval: validation is configured but there is no '
                        'val_dataloader (with val_cfg and val_evaluator); add them or drop '
                        'val_interval/val_begin.')
    return problems


def _check_optim(cfg: Any) -> list[str]:
    optim = cfg.get('optim_wrapper')
    if not isinstance(optim, dict):
        return []
    if 'optimizer' not in optim and 'type' not in optim and 'constructor' not in optim:
        problems = []
        for name, sub in optim.items():  # a dict of wrappers for several submodules
            problems += _check_one_optim(sub, f'optim_wrapper.{name}')
        return problems
    return _check_one_optim(optim, 'optim_wrapper')


def _check_one_optim(optim: Any, path: str) -> list[str]:
    if not isinstance(optim, dict):
        return []
    problems = _check_built(optim, OPTIM_WRAPPERS, path, default_type='OptimWrapper',
                            skip=('optimizer', 'constructor', 'paramwise_cfg'))
    optimizer = optim.get('optimizer')
    if optimizer is None and 'constructor' not in optim:
        problems.append(f'{path}: needs `optimizer`, e.g. optimizer=dict(type=\'SGD\', lr=0.01).')
    problems += _check_built(optimizer, OPTIMIZERS, f'{path}.optimizer')
    constructor = optim.get('constructor')
    if isinstance(constructor, str) and OPTIM_WRAPPER_CONSTRUCTORS.get(constructor) is None:
        problems.append(f'{path}.constructor: '
                        f'{OPTIM_WRAPPER_CONSTRUCTORS._missing_key_message(constructor)}')
    return problems


def _check_evaluator(value: Any, path: str) -> list[str]:
    if isinstance(value, dict) and 'metrics' in value:
        return [p for i, m in enumerate(_as_list(value['metrics']))
                for p in _check_built(m, METRICS, f'{path}.metrics.{i}')] + \
            _check_built(value, EVALUATOR, path, default_type='Evaluator', skip=('metrics',))
    if isinstance(value, dict):
        return _check_built(value, METRICS, path)
    return [p for i, m in enumerate(_as_list(value)) for p in _check_built(m, METRICS,
                                                                           f'{path}.{i}')]


def _check_hooks(cfg: Any) -> list[str]:
    problems = []
    default_hooks = cfg.get('default_hooks') or {}
    if not isinstance(default_hooks, dict):
        return [f'default_hooks: must be a dict of hook configs by name, but got '
                f'{type(default_hooks).__name__}.']
    for name, hook in default_hooks.items():
        problems += _check_built(hook, HOOKS, f'default_hooks.{name}')
    custom = cfg.get('custom_hooks') or []
    if not isinstance(custom, (list, tuple)):
        return problems + [f'custom_hooks: must be a list, but got {type(custom).__name__}.']
    for index, hook in enumerate(custom):
        problems += _check_built(hook, HOOKS, f'custom_hooks.{index}')
    return problems


def _check_loops(cfg: Any) -> list[str]:
    problems = []
    for mode, default in (('val', 'ValLoop'), ('test', 'TestLoop')):
        problems += _check_built(cfg.get(f'{mode}_cfg'), LOOPS, f'{mode}_cfg',
                                 default_type=default)
        problems += _check_dataloader(cfg.get(f'{mode}_dataloader'), f'{mode}_dataloader')
        problems += _check_evaluator(cfg.get(f'{mode}_evaluator'), f'{mode}_evaluator')
    return problems


def validate_config(cfg: Any) -> list[str]:
    """Return every problem found in a full runner config (empty when none)."""
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'mmengine')):
        return _validate(cfg)


def _validate(cfg: Any) -> list[str]:
    problems: list[str] = []
    if cfg.get('model') is None:
        problems.append('model: the config has no model.')
    problems += _check_built(cfg.get('model'), MODELS, 'model', skip=('data_preprocessor',))
    problems += _check_dataloader(cfg.get('train_dataloader'), 'train_dataloader')
    problems += _check_train(cfg)
    problems += _check_optim(cfg)
    for index, sched in enumerate(_as_list(cfg.get('param_scheduler'))):
        problems += _check_built(sched, PARAM_SCHEDULERS, f'param_scheduler.{index}')
    problems += _check_loops(cfg)
    problems += _check_hooks(cfg)
    visualizer = cfg.get('visualizer')
    problems += _check_built(visualizer, VISUALIZERS, 'visualizer', skip=('vis_backends',))
    if isinstance(visualizer, dict):
        for index, backend in enumerate(_as_list(visualizer.get('vis_backends'))):
            problems += _check_built(backend, VISBACKENDS, f'visualizer.vis_backends.{index}')
    problems += _check_built(cfg.get('log_processor'), LOG_PROCESSORS, 'log_processor',
                             default_type='LogProcessor')
    problems += _check_resume(cfg)
    return problems


def _check_resume(cfg: Any) -> list[str]:
    problems = []
    resume = cfg.get('resume', False)
    if not isinstance(resume, bool) and resume != 'auto':
        problems.append(f"resume: must be True, False or 'auto', but got {resume!r}.")
    load_from = cfg.get('load_from')
    if isinstance(load_from, str) and '://' not in load_from and not osp.exists(load_from) \
            and resume != 'auto':
        problems.append(f'load_from: {load_from!r} does not exist; give an existing checkpoint '
                        f'file or None.')
    return problems
