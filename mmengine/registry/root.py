"""The root registries of mmengine, declared in one place.

Each registry's ``locations`` names the subpackage that registers into it; that subpackage is
imported on the first lookup, so lower layers never import higher ones to register.
Downstream projects create child registries with ``parent=`` one of these.
"""
from __future__ import annotations

from .build_functions import build_model_from_cfg, build_runner_from_cfg, build_scheduler_from_cfg
from .registry import Registry

_RUNNER = ['mmengine.runner']
_MODEL = ['mmengine.model']
_DATASET = ['mmengine.dataset']
_OPTIM = ['mmengine.optim']
_EVAL = ['mmengine.evaluator']
_VIS = ['mmengine.visualization']

RUNNERS = Registry('runner', build_func=build_runner_from_cfg, scope='mmengine',
                   locations=_RUNNER)
RUNNER_CONSTRUCTORS = Registry('runner constructor', scope='mmengine', locations=_RUNNER)
LOOPS = Registry('loop', scope='mmengine', locations=_RUNNER)
HOOKS = Registry('hook', scope='mmengine', locations=['mmengine.hooks'])
STRATEGIES = Registry('strategy', scope='mmengine', locations=['mmengine._strategy'])

DATASETS = Registry('dataset', scope='mmengine', locations=_DATASET)
DATA_SAMPLERS = Registry('data sampler', scope='mmengine', locations=_DATASET)
TRANSFORMS = Registry('transform', scope='mmengine', locations=_DATASET)

MODELS = Registry('model', build_func=build_model_from_cfg, scope='mmengine',
                  locations=_MODEL)
MODEL_WRAPPERS = Registry('model_wrapper', scope='mmengine', locations=_MODEL)
WEIGHT_INITIALIZERS = Registry('weight initializer', scope='mmengine', locations=_MODEL)

OPTIMIZERS = Registry('optimizer', scope='mmengine', locations=_OPTIM)
OPTIM_WRAPPERS = Registry('optim_wrapper', scope='mmengine', locations=_OPTIM)
OPTIM_WRAPPER_CONSTRUCTORS = Registry('optimizer wrapper constructor', scope='mmengine',
                                      locations=_OPTIM)
PARAM_SCHEDULERS = Registry('parameter scheduler', build_func=build_scheduler_from_cfg,
                            scope='mmengine', locations=_OPTIM)

METRICS = Registry('metric', scope='mmengine', locations=_EVAL)
EVALUATOR = Registry('evaluator', scope='mmengine', locations=_EVAL)

TASK_UTILS = Registry('task util', scope='mmengine', locations=[])

VISUALIZERS = Registry('visualizer', scope='mmengine', locations=_VIS)
VISBACKENDS = Registry('vis_backend', scope='mmengine', locations=_VIS)

LOG_PROCESSORS = Registry('log_processor', scope='mmengine', locations=_RUNNER)

INFERENCERS = Registry('inferencer', scope='mmengine', locations=[])

# Functions usable by name from configs (collate functions among them).
FUNCTIONS = Registry('function', scope='mmengine', locations=_DATASET)

__all__ = [
    'RUNNERS', 'RUNNER_CONSTRUCTORS', 'LOOPS', 'HOOKS', 'STRATEGIES', 'DATASETS',
    'DATA_SAMPLERS', 'TRANSFORMS', 'MODELS', 'MODEL_WRAPPERS', 'WEIGHT_INITIALIZERS',
    'OPTIMIZERS', 'OPTIM_WRAPPERS', 'OPTIM_WRAPPER_CONSTRUCTORS', 'PARAM_SCHEDULERS', 'METRICS',
    'EVALUATOR', 'TASK_UTILS', 'VISUALIZERS', 'VISBACKENDS', 'LOG_PROCESSORS', 'INFERENCERS',
    'FUNCTIONS'
]
