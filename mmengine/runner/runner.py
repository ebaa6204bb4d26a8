"""The Runner: builds every component from objects or config dicts and drives the loops.

The facade keeps the whole public surface (downstream projects subclass it and override
``build_*``); its methods delegate to small collaborators in ``_env``, ``_build``, ``_hooks``
and ``_checkpointing`` that return values, which the facade stores.

Components given as config dicts (dataloaders, optimizer wrapper, schedulers, evaluators,
loops) are kept as configs and built lazily, when first needed, after the environment and
the random seed are set.
"""
from __future__ import annotations

import copy
import os.path as osp
import time
import warnings
from typing import Any

import torch.nn as nn
from torch.utils.data import DataLoader

from .._strategy import BaseStrategy, DDPStrategy, SingleDeviceStrategy
from ..config import Config, ConfigDict
from ..dist import broadcast_object_list, master_only
from ..fileio import join_path
from ..hooks import Hook
from ..logging import MessageHub, MMLogger
from ..model import is_model_wrapper
from ..registry import RUNNERS, VISUALIZERS, DefaultScope
from ..utils import mkdir_or_exist
from ..version import __version__
from ..visualization import Visualizer
from . import _build, _checkpointing
from ._env import check_launcher, randomness_info, setup_env
from ._faults import log_failure, prepare_work_dir, resolve_resume
from ._hooks import HookTable, build_hook
from ._validate import validate_config
from .base_loop import BaseLoop
from .checkpoint import CorruptCheckpointError, checkpoint_candidates, verify_checkpoint
from .log_processor import LogProcessor
from .loops import _TrainLoopMixin
from .priority import Priority
from .utils import set_random_seed

ConfigType = dict | ConfigDict | Config

_LOOP_TYPES: set[type] = set()
# Those of them whose ``iter`` is the training loops' own counter property (not redefined by
# a subclass): ``runner.iter``, read by several hooks per iteration, reads the counter.
_COUNTER_LOOPS: set[type] = set()


def _built(loop: Any) -> bool:
    """Whether ``loop`` is a built loop rather than its config (or None).

    Hooks read ``runner.iter`` / ``epoch`` several times per iteration, and ``isinstance``
    against the abstract ``BaseLoop`` is slow, so the loop classes seen are remembered.
    """
    kind = type(loop)
    if kind in _LOOP_TYPES:
        return True
    if isinstance(loop, BaseLoop):
        _LOOP_TYPES.add(kind)
        if getattr(kind, 'iter', None) is _TrainLoopMixin.iter:
            _COUNTER_LOOPS.add(kind)
        return True
    return False


_DEFAULT_HOOKS = dict(
    runtime_info=dict(type='RuntimeInfoHook'),
    timer=dict(type='IterTimerHook'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    logger=dict(type='LoggerHook'),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=1),
)


def _check_trio(prefix: str, **parts: Any) -> None:
    given = {name for name, value in parts.items() if value is not None}
    if given and given != set(parts):
        missing = sorted(set(parts) - given)
        raise ValueError(f'{", ".join(sorted(parts))} must be all None or all given for '
                         f'{prefix}, but {", ".join(missing)} is missing (given: '
                         f'{", ".join(sorted(given))}).')


@RUNNERS.register_module()
class Runner:
    """Train, validate and test a model, as the tutorial describes.

    Every component argument accepts a built object or a config dict. Configs of
    dataloaders, the optimizer wrapper, schedulers, evaluators and loops are built lazily.

    Args:
        model: The model (an ``nn.Module`` with ``train_step``/``val_step``/``test_step``,
            usually a ``BaseModel``) or its config.
        work_dir: Directory for checkpoints and logs.
        train_dataloader, val_dataloader, test_dataloader: ``DataLoader`` or config dict
            (a config needs ``dataset`` and ``sampler``).
        train_cfg: Training loop config, e.g. ``dict(by_epoch=True, max_epochs=10,
            val_interval=1)`` or ``dict(type='IterBasedTrainLoop', max_iters=1000)``.
        val_cfg, test_cfg: Validation/test loop configs (``dict()`` for the defaults).
        auto_scale_lr: ``dict(base_batch_size=..., enable=True)`` scales the lr by the real
            total batch size.
        optim_wrapper: ``OptimWrapper`` or its config (``dict(optimizer=dict(type=...))``).
        param_scheduler: A scheduler, a config, or a list of them.
        val_evaluator, test_evaluator: ``Evaluator``, a metric config, or a list of them.
        default_hooks: Dict of default hooks by name; a ``None`` value removes one.
        custom_hooks: List of extra hooks or hook configs.
        data_preprocessor: Config merged into the model config's ``data_preprocessor``.
        load_from: Checkpoint to load weights from (or to resume from with ``resume``).
        resume: Resume from ``load_from`` or, when it is None, the latest checkpoint in
            ``work_dir``. ``'auto'``: resume from the latest checkpoint in ``work_dir`` if
            there is one, else start fresh (from ``load_from`` weights if given), so a script
            re-run after a preemption continues unchanged.
        launcher: ``'none'``, ``'pytorch'``, ``'slurm'`` or ``'mpi'``.
        env_cfg: ``dict(dist_cfg=..., mp_cfg=..., cudnn_benchmark=...)``.
        log_processor: ``LogProcessor`` or its config.
        log_level: Logging level of the runner's logger.
        visualizer: ``Visualizer`` or its config.
        default_scope: Registry scope used to build components.
        randomness: ``dict(seed=None, diff_rank_seed=False, deterministic=False)``.
        experiment_name: Name of the experiment (defaults to the config name or timestamp).
        cfg: The full config, dumped into the log directory and stored in checkpoints.
    """

    cfg: Config
    _train_loop: Any
    _val_loop: Any
    _test_loop: Any

    def __init__(self, model: nn.Module | dict, work_dir: str,
                 train_dataloader: DataLoader | dict | None = None,
                 val_dataloader: DataLoader | dict | None = None,
                 test_dataloader: DataLoader | dict | None = None,
                 train_cfg: dict | None = None, val_cfg: dict | None = None,
                 test_cfg: dict | None = None, auto_scale_lr: dict | None = None,
                 optim_wrapper: Any = None, param_scheduler: Any = None,
                 val_evaluator: Any = None, test_evaluator: Any = None,
                 default_hooks: dict | None = None, custom_hooks: list | None = None,
                 data_preprocessor: dict | None = None, load_from: str | None = None,
                 resume: bool | str = False, launcher: str = 'none',
                 env_cfg: dict = dict(dist_cfg=dict(backend='nccl')),  # noqa: B006
                 log_processor: Any = None, log_level: str | int = 'INFO',
                 visualizer: Any = None, default_scope: str = 'mmengine',
                 randomness: dict = dict(seed=None),  # noqa: B006
                 experiment_name: str | None = None, cfg: ConfigType | None = None) -> None:
        self._work_dir = osp.abspath(work_dir)
        prepare_work_dir(self._work_dir)  # fail before anything is written
        self.cfg = copy.deepcopy(cfg) if isinstance(cfg, Config) else Config(
            dict(cfg) if cfg is not None else dict())
        _check_trio('training', train_dataloader=train_dataloader, train_cfg=train_cfg,
                    optim_wrapper=optim_wrapper)
        _check_trio('validation', val_dataloader=val_dataloader, val_cfg=val_cfg,
                    val_evaluator=val_evaluator)
        _check_trio('testing', test_dataloader=test_dataloader, test_cfg=test_cfg,
                    test_evaluator=test_evaluator)
        self._train_dataloader, self._val_dataloader = train_dataloader, val_dataloader
        self._test_dataloader = test_dataloader
        self._train_loop, self._val_loop, self._test_loop = train_cfg, val_cfg, test_cfg
        self._val_evaluator, self._test_evaluator = val_evaluator, test_evaluator
        self.optim_wrapper, self.param_schedulers = optim_wrapper, param_scheduler
        self.auto_scale_lr = auto_scale_lr
        self._load_from, self._resume = resolve_resume(resume, load_from, self._work_dir)
        self._launcher = check_launcher(launcher)
        self._randomness_cfg = randomness_info(randomness)
        self.setup_env(env_cfg)
        self.set_randomness(**self._randomness_cfg)
        self._set_names(experiment_name)
        self.default_scope = DefaultScope.get_instance(self._experiment_name,
                                                       scope_name=default_scope)
        self._log_dir = osp.join(self._work_dir, self._timestamp)
        mkdir_or_exist(self._log_dir)
        self.logger = self.build_logger(log_level=log_level)
        self._log_env()
        self.message_hub = self.build_message_hub()
        self.visualizer = self.build_visualizer(visualizer)
        if self.cfg:
            self.visualizer.add_config(self.cfg)
        self.log_processor = self.build_log_processor(log_processor)
        self._strategy = self._build_strategy()
        self.model = self.build_model(_build.build_model(model, data_preprocessor))
        self.model = self.wrap_model(self.cfg.get('model_wrapper_cfg'), self.model)
        self._hook_table = HookTable()
        self.register_hooks(default_hooks, custom_hooks)
        self.dump_config()

    @classmethod
    def from_cfg(cls, cfg: ConfigType) -> Runner:
        """Build a runner from a full config (``Config`` or dict)."""
        cfg = copy.deepcopy(cfg)
        problems = validate_config(cfg)
        if problems:
            source = getattr(cfg, 'filename', None) or 'the config'
            listing = '\n'.join(f'  - {p}' for p in problems)
            raise ValueError(f'{source} has {len(problems)} problem(s); nothing was built:\n'
                             f'{listing}')
        get = cfg.get
        return cls(
            model=cfg['model'], work_dir=cfg['work_dir'],
            train_dataloader=get('train_dataloader'), val_dataloader=get('val_dataloader'),
            test_dataloader=get('test_dataloader'), train_cfg=get('train_cfg'),
            val_cfg=get('val_cfg'), test_cfg=get('test_cfg'),
            auto_scale_lr=get('auto_scale_lr'), optim_wrapper=get('optim_wrapper'),
            param_scheduler=get('param_scheduler'), val_evaluator=get('val_evaluator'),
            test_evaluator=get('test_evaluator'), default_hooks=get('default_hooks'),
            custom_hooks=get('custom_hooks'), data_preprocessor=get('data_preprocessor'),
            load_from=get('load_from'), resume=get('resume', False),
            launcher=get('launcher', 'none'),
            env_cfg=get('env_cfg', dict(dist_cfg=dict(backend='nccl'))),
            log_processor=get('log_processor'), log_level=get('log_level', 'INFO'),
            visualizer=get('visualizer'), default_scope=get('default_scope', 'mmengine'),
            randomness=get('randomness', dict(seed=None)),
            experiment_name=get('experiment_name'), cfg=cfg)

    # ------------------------------------------------------------------ properties
    @property
    def experiment_name(self) -> str:
        """Name of the experiment (``<config name>_<timestamp>`` by default)."""
        return self._experiment_name

    @property
    def model_name(self) -> str:
        """Class name of the (unwrapped) model."""
        model = self.model.module if is_model_wrapper(self.model) else self.model
        return type(model).__name__

    @property
    def work_dir(self) -> str:
        """The working directory."""
        return self._work_dir

    @property
    def log_dir(self) -> str:
        """``work_dir/<timestamp>``: this run's log directory."""
        return self._log_dir

    @property
    def max_epochs(self) -> int:
        """Total training epochs (0 before the training loop is built)."""
        loop = self._train_loop
        return loop.max_epochs if type(loop) in _LOOP_TYPES or _built(loop) else 0

    @property
    def max_iters(self) -> int:
        """Total training iterations (0 before the training loop is built)."""
        loop = self._train_loop
        return loop.max_iters if type(loop) in _LOOP_TYPES or _built(loop) else 0

    @property
    def epoch(self) -> int:
        """Completed training epochs."""
        loop = self._train_loop
        return loop.epoch if type(loop) in _LOOP_TYPES or _built(loop) else 0

    @property
    def iter(self) -> int:
        """Completed training iterations."""
        loop = self._train_loop
        if type(loop) in _COUNTER_LOOPS:
            return loop._iter
        return loop.iter if type(loop) in _LOOP_TYPES or _built(loop) else 0

    @property
    def launcher(self) -> str:
        """The launcher."""
        return self._launcher

    @property
    def distributed(self) -> bool:
        """Whether the run is distributed."""
        return self._distributed

    @property
    def rank(self) -> int:
        """Rank of this process."""
        return self._rank

    @property
    def world_size(self) -> int:
        """Number of processes."""
        return self._world_size

    @property
    def deterministic(self) -> bool:
        """Whether deterministic algorithms are enforced."""
        return self._deterministic

    @property
    def seed(self) -> int:
        """The random seed (drawn and shared by all ranks when none was given)."""
        return self._seed

    @property
    def timestamp(self) -> str:
        """Start time ``%Y%m%d_%H%M%S``, shared by all ranks."""
        return self._timestamp

    @property
    def hooks(self) -> list[Hook]:
        """Registered hooks in call order (mutations are seen by dispatch)."""
        return self._hook_table.hooks

    @property
    def train_loop(self) -> Any:
        """The training loop, built on first access."""
        if self._train_loop is None:
            raise RuntimeError('No training loop: give train_dataloader, train_cfg and '
                               'optim_wrapper to the Runner to train.')
        if not isinstance(self._train_loop, BaseLoop):
            self._train_loop = self.build_train_loop(self._train_loop)
        return self._train_loop

    @property
    def val_loop(self) -> Any:
        """The validation loop (None without validation), built on first access."""
        if self._val_loop is not None and not isinstance(self._val_loop, BaseLoop):
            self._val_loop = self.build_val_loop(self._val_loop)
        return self._val_loop

    @property
    def test_loop(self) -> Any:
        """The test loop (None without testing), built on first access."""
        if self._test_loop is not None and not isinstance(self._test_loop, BaseLoop):
            self._test_loop = self.build_test_loop(self._test_loop)
        return self._test_loop

    def _loop_dataloader(self, name: str) -> Any:
        loop = getattr(self, f'_{name}_loop')
        if isinstance(loop, BaseLoop):
            return loop.dataloader
        dataloader = getattr(self, f'_{name}_dataloader')
        if isinstance(dataloader, dict):
            dataloader = self.build_dataloader(
                dataloader, seed=self.seed,
                diff_rank_seed=self._randomness_cfg.get('diff_rank_seed', False))
            setattr(self, f'_{name}_dataloader', dataloader)
        return dataloader

    @property
    def train_dataloader(self) -> Any:
        """The training dataloader (built on first access)."""
        return self._loop_dataloader('train')

    @property
    def val_dataloader(self) -> Any:
        """The validation dataloader (built on first access)."""
        return self._loop_dataloader('val')

    @property
    def test_dataloader(self) -> Any:
        """The test dataloader (built on first access)."""
        return self._loop_dataloader('test')

    @property
    def val_evaluator(self) -> Any:
        """The validation evaluator (of the built val loop, when there is one)."""
        loop = self._val_loop
        return loop.evaluator if isinstance(loop, BaseLoop) else self._val_evaluator

    @property
    def test_evaluator(self) -> Any:
        """The test evaluator (of the built test loop, when there is one)."""
        loop = self._test_loop
        return loop.evaluator if isinstance(loop, BaseLoop) else self._test_evaluator

    @property
    def val_interval(self) -> int:
        """Validation interval of the training loop."""
        return self.train_loop.val_interval

    @property
    def val_begin(self) -> int:
        """First epoch/iteration at which validation may run."""
        return self.train_loop.val_begin

    # ------------------------------------------------------------------ environment
    def setup_env(self, env_cfg: dict) -> None:
        """Set multiprocessing, cuDNN and distributed options from ``env_cfg``."""
        self._distributed, self._rank, self._world_size = setup_env(env_cfg, self._launcher)

    def set_randomness(self, seed: int | None, diff_rank_seed: bool = False,
                       deterministic: bool = False) -> None:
        """Seed every generator; a missing seed is drawn and shared by all ranks."""
        self._deterministic = deterministic
        self._seed = set_random_seed(seed=seed, deterministic=deterministic,
                                     diff_rank_seed=diff_rank_seed)

    def _set_names(self, experiment_name: str | None) -> None:
        stamp = [time.strftime('%Y%m%d_%H%M%S', time.localtime())]
        broadcast_object_list(stamp)  # every rank uses rank 0's timestamp
        self._timestamp = stamp[0]
        if experiment_name is not None:
            self._experiment_name = f'{experiment_name}_{self._timestamp}'
        elif self.cfg.filename:
            name = osp.splitext(osp.basename(self.cfg.filename))[0]
            self._experiment_name = f'{name}_{self._timestamp}'
        else:
            self._experiment_name = self._timestamp

    def _log_env(self) -> None:
        from ..utils.dl_utils import collect_env
        env = collect_env()
        runtime = dict(cudnn_benchmark=self.cfg.get('env_cfg', {}).get('cudnn_benchmark'),
                       seed=self._seed, deterministic=self._deterministic,
                       Distributed_launcher=self._launcher, Distributed_training=self._distributed,
                       GPU_number=self._world_size)
        dash = '-' * 60
        body = '\n'.join(f'    {k}: {v}' for k, v in env.items())
        runtime_text = '\n'.join(f'    {k}: {v}' for k, v in runtime.items())
        self.logger.info(f'\n{dash}\nSystem environment:\n{body}\n\nRuntime environment:\n'
                         f'{runtime_text}\n{dash}\n')
        if self.cfg:
            self.logger.info(f'Config:\n{self.cfg.pretty_text}')

    # ------------------------------------------------------------------ builders
    def build_logger(self, log_level: int | str = 'INFO', log_file: str | None = None,
                     **kwargs: Any) -> MMLogger:
        """Create this experiment's ``MMLogger`` writing to ``log_dir/<timestamp>.log``."""
        if log_file is None:
            log_file = osp.join(self._log_dir, f'{self._timestamp}.log')
        return MMLogger.get_instance(self._experiment_name, log_file=log_file,
                                     log_level=log_level, **kwargs)

    def build_message_hub(self, message_hub: dict | None = None) -> MessageHub:
        """Create this experiment's ``MessageHub``."""
        cfg = dict(message_hub or {})
        cfg.setdefault('name', self._experiment_name)
        return MessageHub.get_instance(**cfg)

    def build_visualizer(self, visualizer: Any = None) -> Visualizer:
        """Create the ``Visualizer`` (a local backend writing ``vis_data/`` by default)."""
        if isinstance(visualizer, Visualizer):
            return visualizer
        if visualizer is None:
            visualizer = dict(type='Visualizer', vis_backends=[dict(type='LocalVisBackend')])
        cfg = copy.deepcopy(dict(visualizer))
        cfg.setdefault('name', self._experiment_name)
        cfg.setdefault('save_dir', self._log_dir)
        return VISUALIZERS.build(cfg)

    def build_model(self, model: nn.Module | dict) -> nn.Module:
        """Build the model from a config (a module is returned as is)."""
        return _build.build_model(model, None)

    def _build_strategy(self) -> BaseStrategy:
        """The strategy that wraps the model and reads/writes checkpoints: DDP under a
        launcher (``sync_bn``, ``find_unused_parameters`` from the config), else one device."""
        if not self._distributed:
            return SingleDeviceStrategy()
        return DDPStrategy(sync_bn=self.cfg.get('sync_bn'), model_wrapper=dict(
            find_unused_parameters=self.cfg.get('find_unused_parameters', False)))

    def wrap_model(self, model_wrapper_cfg: dict | None, model: nn.Module) -> nn.Module:
        """Move the model to the device and wrap it for distributed training."""
        return self._strategy.wrap_model(model, model_wrapper_cfg)

    def scale_lr(self, optim_wrapper: Any, auto_scale_lr: dict | None = None) -> None:
        """Scale every param group's lr by real total batch size / ``base_batch_size``."""
        factor = _build.scaled_lr_factor(auto_scale_lr, self.train_dataloader.batch_size or 1)
        if factor is None:
            return
        wrappers = optim_wrapper.values() if hasattr(optim_wrapper, 'values') else [
            optim_wrapper]
        for wrapper in wrappers:
            for group in wrapper.param_groups:
                group['lr'] = group['lr'] * factor

    def build_optim_wrapper(self, optim_wrapper: Any) -> Any:
        """Build the optimizer wrapper for the (unwrapped) model."""
        model = self.model.module if is_model_wrapper(self.model) else self.model
        return _build.build_runner_optim_wrapper(optim_wrapper, model)

    def build_param_scheduler(self, scheduler: Any) -> Any:
        """Build parameter schedulers; ``end`` defaults to the end of training."""
        self.optim_wrapper = self.build_optim_wrapper(self.optim_wrapper)
        loop = self.train_loop
        epoch_length = len(loop.dataloader) if hasattr(loop.dataloader, '__len__') else None
        return _build.build_param_schedulers(scheduler, self.optim_wrapper, loop.max_epochs,
                                             loop.max_iters, epoch_length)

    def build_evaluator(self, evaluator: Any) -> Any:
        """Build an ``Evaluator`` from an evaluator, metric config or list of them."""
        return _build.build_evaluator(evaluator)

    @staticmethod
    def build_dataloader(dataloader: DataLoader | dict, seed: int | None = None,
                         diff_rank_seed: bool = False) -> DataLoader:
        """Build a ``DataLoader`` from a config (``dataset`` and ``sampler`` required)."""
        return _build.build_dataloader(dataloader, seed=seed, diff_rank_seed=diff_rank_seed)

    def build_train_loop(self, loop: Any) -> Any:
        """Build the training loop from ``train_cfg``."""
        return _build.build_train_loop(loop, self)

    def build_val_loop(self, loop: Any) -> Any:
        """Build the validation loop from ``val_cfg``."""
        return _build.build_eval_loop(loop, self, 'val')

    def build_test_loop(self, loop: Any) -> Any:
        """Build the test loop from ``test_cfg``."""
        return _build.build_eval_loop(loop, self, 'test')

    def build_log_processor(self, log_processor: Any) -> LogProcessor:
        """Build the ``LogProcessor`` (``by_epoch`` follows the training loop unless set)."""
        return _build.build_log_processor(log_processor, self._train_loop)

    # ------------------------------------------------------------------ hooks
    def get_hooks_info(self) -> str:
        """The table of stages and the hooks called at each, in order."""
        return self._hook_table.info()

    def call_hook(self, fn_name: str, **kwargs: Any) -> None:
        """Call stage ``fn_name`` of every hook that takes part in it."""
        self._hook_table.call(self, fn_name, kwargs)

    def register_hook(self, hook: Hook | dict, priority: int | str | Priority | None = None
                      ) -> None:
        """Insert a hook by priority (registration order among equal priorities)."""
        self._hook_table.insert(build_hook(hook, priority))

    def register_default_hooks(self, hooks: dict | None = None) -> None:
        """Register the six default hooks, updated by ``hooks`` (``None`` removes one)."""
        merged = dict(_DEFAULT_HOOKS)
        for name, hook in (hooks or {}).items():
            merged[name] = hook
        for hook in merged.values():
            if hook is not None:
                self.register_hook(hook)

    def register_custom_hooks(self, hooks: list) -> None:
        """Register custom hooks (NORMAL priority unless they say otherwise)."""
        if not isinstance(hooks, (list, tuple)):
            raise TypeError(f'custom_hooks must be a list, but got {type(hooks).__name__}.')
        for hook in hooks:
            self.register_hook(hook)

    def register_hooks(self, default_hooks: dict | None = None,
                       custom_hooks: list | None = None) -> None:
        """Register default hooks, then custom hooks."""
        self.register_default_hooks(default_hooks)
        if custom_hooks is not None:
            self.register_custom_hooks(custom_hooks)

    # ------------------------------------------------------------------ running
    def _prepare_training(self) -> None:
        train_loop = self.train_loop  # builds the dataloader before the optimizer
        self.optim_wrapper = self.build_optim_wrapper(self.optim_wrapper)
        self.scale_lr(self.optim_wrapper, self.auto_scale_lr)
        if self.param_schedulers is not None:
            self.param_schedulers = self.build_param_scheduler(self.param_schedulers)
        else:
            self.param_schedulers = []
        self.message_hub.resume_history_length = _build.history_needed(
            self.log_processor, len(train_loop.dataloader))

    def train(self) -> nn.Module:
        """Train the model and return it."""
        model = self.model.module if is_model_wrapper(self.model) else self.model
        if not hasattr(model, 'train_step'):
            raise TypeError(f'{type(model).__name__} has no train_step; derive the model from '
                            f'mmengine.model.BaseModel or implement train_step.')
        if self._train_loop is None:
            raise RuntimeError('Runner.train() needs train_dataloader, train_cfg and '
                               'optim_wrapper; they were not given to the Runner.')
        self._prepare_training()
        self.val_loop  # noqa: B018 - build before hooks run
        self.call_hook('before_run')
        self._init_model_weights()
        self.load_or_resume()
        self.optim_wrapper.initialize_count_status(self.model, self.train_loop.iter,
                                                   self.train_loop.max_iters)
        self._maybe_compile()
        self.logger.info(f'Hooks will be executed in the following order:\n'
                         f'{self.get_hooks_info()}')
        try:
            with log_failure(self, 'Training'):
                model = self.train_loop.run()
            self.call_hook('after_run')
        finally:
            self._flush_logs()
        return model

    def _flush_logs(self) -> None:
        # The log file is flushed at most once a second during a run (MMLogger); when
        # train()/val()/test() return or raise, it holds every line.
        for handler in self.logger.handlers:
            handler.flush()

    def _run_eval(self, mode: str) -> dict:
        loop = self.val_loop if mode == 'val' else self.test_loop
        if loop is None:
            raise RuntimeError(f'Runner.{mode}() needs {mode}_dataloader, {mode}_cfg and '
                               f'{mode}_evaluator; they were not given to the Runner.')
        self.call_hook('before_run')
        self.load_or_resume()
        self._maybe_compile()
        try:
            metrics = loop.run()
            self.call_hook('after_run')
        finally:
            self._flush_logs()
        return metrics

    def _maybe_compile(self) -> None:
        """Compile the model's forward once when the config says ``compile=True`` (or a dict
        of ``torch.compile`` options)."""
        compile_cfg = self.cfg.get('compile', False)
        if compile_cfg and not getattr(self, '_compiled', False):
            model = self.model.module if is_model_wrapper(self.model) else self.model
            _build.compile_forward(model, compile_cfg)
            self._compiled = True

    def val(self) -> dict:
        """Validate the model once and return the metrics."""
        return self._run_eval('val')

    def test(self) -> dict:
        """Test the model once and return the metrics."""
        return self._run_eval('test')

    def _init_model_weights(self) -> None:
        model = self.model.module if is_model_wrapper(self.model) else self.model
        if hasattr(model, 'init_weights') and not self._resume and self._load_from is None:
            model.init_weights()

    # ------------------------------------------------------------------ checkpoints
    def load_or_resume(self) -> None:
        """Resume (``resume=True``) or load weights (``load_from``), once per run."""
        if getattr(self, '_has_loaded', False):
            return
        if self._resume and self._load_from is None:
            self._resume_latest()
        elif self._resume:
            self.resume(self._load_from)
        elif self._load_from is not None:
            self.load_checkpoint(self._load_from)
        self._has_loaded = True

    def _resume_latest(self) -> None:
        """Resume from the newest intact checkpoint of the work_dir.

        A file whose size or SHA-256 differs from its record, or that cannot be read
        (truncated, corrupt), is skipped with a warning naming it; the next newest is tried.
        """
        for path, record in checkpoint_candidates(self._work_dir):
            problem = verify_checkpoint(path, record)
            if problem is None:
                try:
                    self.resume(path)
                    return
                except CorruptCheckpointError as exc:
                    problem = str(exc)
            message = (f'Checkpoint {path} is not usable ({problem}); resuming from the next '
                       f'newest checkpoint instead.')
            self.logger.warning(message)
            warnings.warn(message, stacklevel=2)
        self.logger.info(f'resume=True but no usable checkpoint was found in {self._work_dir}; '
                         f'training starts from scratch.')

    def resume(self, filename: str, resume_optimizer: bool = True,
               resume_param_scheduler: bool = True, map_location: Any = 'default') -> None:
        """Restore the training state from ``filename`` so training continues exactly."""
        map_location = 'cpu' if map_location == 'default' else map_location
        checkpoint = self.load_checkpoint(filename, map_location=map_location)
        meta = checkpoint.get('meta', {})
        loop = self.train_loop
        loop._epoch, loop._iter = meta.get('epoch', 0), meta.get('iter', 0)
        changes = _checkpointing.setup_changes(
            meta.get('train_setup'), _checkpointing.train_setup(loop, self.world_size))
        if 'message_hub' in checkpoint:
            self.message_hub.load_state_dict(checkpoint['message_hub'])
        if resume_optimizer and 'optimizer' in checkpoint:
            self._strategy.load_optim_state_dict(self.model, self.optim_wrapper,
                                                 checkpoint['optimizer'])
        if resume_param_scheduler and 'param_schedulers' in checkpoint and self.param_schedulers:
            changes += _checkpointing.load_scheduler_states(self.param_schedulers,
                                                            checkpoint['param_schedulers'])
        if changes:
            message = (f'The config differs from the one {filename} was trained with:\n  '
                       + '\n  '.join(changes) + '\nThe restored state (weights, optimizer, '
                       'step counters, data position) continues under the new values.')
            self.logger.warning(message)
            warnings.warn(message, stacklevel=2)
        self._restore_seed(meta.get('seed'))
        if 'data_position' in checkpoint:
            exact = _checkpointing.restore_data_position(loop, checkpoint['data_position'])
            if not exact:
                warnings.warn('The training dataloader\'s sampler cannot resume part-way; the '
                              'interrupted epoch restarts from its first batch.', stacklevel=2)
        if 'rng' in checkpoint:
            _checkpointing.set_rng_state(checkpoint['rng'])
        self.logger.info(f'resumed epoch: {loop.epoch}, iter: {loop.iter}')

    def _restore_seed(self, seed: int | None) -> None:
        if seed is not None and seed != self._seed:
            self.logger.warning(f'The checkpoint was trained with seed {seed}; the current '
                                f'seed {self._seed} is replaced by it.')
            self._seed = seed

    def load_checkpoint(self, filename: str, map_location: Any = 'cpu', strict: bool = False,
                        revise_keys: list = [(r'^module.', '')]  # noqa: B006
                        ) -> dict:
        """Load model weights from ``filename`` and return the checkpoint."""
        checkpoint = self._strategy.load_checkpoint(filename, map_location=map_location)
        # Hooks see the checkpoint first and may adjust it (e.g. EMA weights for testing).
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        self._strategy.load_model_state_dict(self.model, checkpoint.get('state_dict', checkpoint),
                                             strict=strict, revise_keys=revise_keys,
                                             logger=self.logger)
        self.logger.info(f'Load checkpoint from {filename}')
        return checkpoint

    def save_checkpoint(self, out_dir: str, filename: str,
                        file_client_args: dict | None = None, save_optimizer: bool = True,
                        save_param_scheduler: bool = True, meta: dict | None = None,
                        by_epoch: bool = True, backend_args: dict | None = None) -> None:
        """Save model, optimizer, schedulers, MessageHub, data position and RNG states."""
        if meta is not None and not isinstance(meta, dict):
            raise TypeError(f'meta must be a dict or None, but got {type(meta).__name__}.')
        meta = dict(meta or {})
        loop = self.train_loop if self._train_loop is not None else None
        # setdefault: a hook re-saving an earlier step passes that step's epoch/iter.
        if by_epoch:
            meta.setdefault('epoch', self.epoch + 1)
            meta.setdefault('iter', self.iter)
        else:
            meta.setdefault('epoch', self.epoch)
            meta.setdefault('iter', self.iter + 1)
        meta.update(cfg=self.cfg.pretty_text if self.cfg else '', seed=self.seed,
                    experiment_name=self.experiment_name,
                    time=time.strftime('%Y%m%d_%H%M%S', time.localtime()),
                    mmengine_version=__version__)
        dataset = getattr(loop.dataloader, 'dataset', None) if loop is not None else None
        if loop is not None:
            meta['train_setup'] = _checkpointing.train_setup(loop, self.world_size)
        if hasattr(dataset, 'metainfo'):
            meta['dataset_meta'] = _plain(dataset.metainfo)
        checkpoint = self._collect_checkpoint(meta, save_optimizer, save_param_scheduler,
                                              by_epoch)
        self.call_hook('before_save_checkpoint', checkpoint=checkpoint)
        filepath = join_path(out_dir, filename, backend_args=backend_args)
        self._write_checkpoint(checkpoint, filepath, file_client_args, backend_args)

    def _write_checkpoint(self, checkpoint: dict, filepath: str, file_client_args: Any,
                          backend_args: Any) -> None:
        # The strategy decides who writes: rank 0 one file, or every rank its shards.
        self._strategy.save_checkpoint(checkpoint, filepath, file_client_args=file_client_args,
                                       backend_args=backend_args)

    def _collect_checkpoint(self, meta: dict, save_optimizer: bool, save_param_scheduler: bool,
                            by_epoch: bool) -> dict:
        checkpoint: dict[str, Any] = dict(
            meta=meta, state_dict=self._strategy.model_state_dict(self.model),
            message_hub=self.message_hub.state_dict())
        if save_optimizer and self.optim_wrapper is not None and hasattr(
                self.optim_wrapper, 'state_dict'):
            checkpoint['optimizer'] = self._strategy.optim_state_dict(self.model,
                                                                      self.optim_wrapper)
        if save_param_scheduler and self.param_schedulers:
            checkpoint['param_schedulers'] = _checkpointing.scheduler_states(
                self.param_schedulers)
        if isinstance(self._train_loop, BaseLoop):
            checkpoint['data_position'] = _checkpointing.data_position(
                self._train_loop, meta, end_of_epoch=by_epoch)
        checkpoint['rng'] = _checkpointing.rng_state()
        return checkpoint

    @master_only
    def dump_config(self) -> None:
        """Write the config into the log directory (``<config name>`` or ``<timestamp>.py``)."""
        if not self.cfg:
            return
        name = osp.basename(self.cfg.filename) if self.cfg.filename else f'{self._timestamp}.py'
        if not name.endswith('.py'):
            name = osp.splitext(name)[0] + '.py'
        self.cfg.dump(osp.join(self._log_dir, name))


def _plain(value: Any) -> Any:
    """Dataset metainfo reduced to plain data so the checkpoint stays weights-only loadable."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return repr(value)


__all__ = ['Runner']
