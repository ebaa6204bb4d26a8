"""Registries: name -> class tables that build objects from config dicts."""
from .build_functions import (
                              build_from_cfg,
                              build_model_from_cfg,
                              build_optimizer_from_cfg,
                              build_runner_from_cfg,
                              build_scheduler_from_cfg,
)
from .default_scope import DefaultScope
from .registry import Registry
from .root import (
                              DATA_SAMPLERS,
                              DATASETS,
                              EVALUATOR,
                              FUNCTIONS,
                              HOOKS,
                              INFERENCERS,
                              LOG_PROCESSORS,
                              LOOPS,
                              METRICS,
                              MODEL_WRAPPERS,
                              MODELS,
                              OPTIM_WRAPPER_CONSTRUCTORS,
                              OPTIM_WRAPPERS,
                              OPTIMIZERS,
                              PARAM_SCHEDULERS,
                              RUNNER_CONSTRUCTORS,
                              RUNNERS,
                              STRATEGIES,
                              TASK_UTILS,
                              TRANSFORMS,
                              VISBACKENDS,
                              VISUALIZERS,
                              WEIGHT_INITIALIZERS,
)
from .utils import count_registered_modules, init_default_scope, traverse_registry_tree

__all__ = [
    'Registry', 'RUNNERS', 'RUNNER_CONSTRUCTORS', 'HOOKS', 'DATASETS', 'DATA_SAMPLERS',
    'TRANSFORMS', 'MODELS', 'WEIGHT_INITIALIZERS', 'OPTIMIZERS', 'OPTIM_WRAPPER_CONSTRUCTORS',
    'TASK_UTILS', 'PARAM_SCHEDULERS', 'METRICS', 'MODEL_WRAPPERS', 'OPTIM_WRAPPERS', 'LOOPS',
    'VISBACKENDS', 'VISUALIZERS', 'LOG_PROCESSORS', 'EVALUATOR', 'INFERENCERS', 'DefaultScope',
    'traverse_registry_tree', 'count_registered_modules', 'build_model_from_cfg',
    'build_runner_from_cfg', 'build_from_cfg', 'build_optimizer_from_cfg',
    'build_scheduler_from_cfg', 'init_default_scope', 'FUNCTIONS', 'STRATEGIES'
]
