"""Backends for third-party experiment trackers.

Each imports its client library only when first used and raises an ``ImportError`` that names
the package to install when it is absent. They are importable (and buildable from configs)
without any of those libraries.
"""
from __future__ import annotations

import os
import os.path as osp
from typing import Any

import numpy as np

from mmengine.registry import VISBACKENDS

from ._base_backend import (
    BaseVisBackend,
    check_scalar_dict,
    config_text,
    force_init_env,
    import_client,
    to_plain_number,
)


def _config_dict(config: Any) -> dict:
    if hasattr(config, 'to_dict'):
        return config.to_dict()
    return dict(config) if isinstance(config, dict) else {'config': config_text(config)}


def _files_with_suffix(directory: str | None, suffixes: tuple | str) -> list[str]:
    if directory is None or not osp.isdir(directory):
        return []
    suffixes = (suffixes, ) if isinstance(suffixes, str) else tuple(suffixes)
    found = []
    for root, _, files in os.walk(directory):
        found.extend(osp.join(root, name) for name in files if name.endswith(suffixes))
    return sorted(found)


class _ScalarsEachBackend(BaseVisBackend):
    """Shared ``add_scalars``: forward every entry to ``add_scalar``."""

    @force_init_env
    def add_scalars(self, scalar_dict: dict, step: int = 0, file_path: str | None = None,
                    **kwargs: Any) -> None:
        """Record each entry of ``scalar_dict`` at ``step``."""
        check_scalar_dict(scalar_dict)
        for key, value in scalar_dict.items():
            if key != 'step':
                self.add_scalar(key, value, step, **kwargs)


@VISBACKENDS.register_module()
class WandbVisBackend(BaseVisBackend):
    """Record to Weights & Biases (needs ``wandb``).

    Args:
        save_dir: Local directory of the wandb run files.
        init_kwargs: Keyword arguments of ``wandb.init``.
        define_metric_cfg: ``{metric: summary}`` or a list of ``wandb.define_metric`` kwargs.
        commit: Whether each ``log`` call commits the step. Defaults to True.
        log_code_name: Name of the code artifact to log, if any.
        watch_kwargs: Keyword arguments of ``wandb.watch`` used by ``add_graph``.
    """

    def __init__(self, save_dir: str, init_kwargs: dict | None = None,
                 define_metric_cfg: dict | list | None = None, commit: bool | None = True,
                 log_code_name: str | None = None, watch_kwargs: dict | None = None) -> None:
        super().__init__(save_dir)
        self._init_kwargs = dict(init_kwargs or {})
        self._define_metric_cfg = define_metric_cfg
        self._commit = commit
        self._log_code_name = log_code_name
        self._watch_kwargs = dict(watch_kwargs or {})

    def _init_env(self) -> None:
        wandb = import_client('wandb', 'wandb', 'WandbVisBackend')
        if self._save_dir is not None:
            os.makedirs(self._save_dir, exist_ok=True)
            self._init_kwargs.setdefault('dir', self._save_dir)
        wandb.init(**self._init_kwargs)
        cfg = self._define_metric_cfg
        if isinstance(cfg, dict):
            for metric, summary in cfg.items():
                wandb.define_metric(metric, summary=summary)
        elif isinstance(cfg, list):
            for metric_kwargs in cfg:
                wandb.define_metric(**metric_kwargs)
        self._wandb = wandb

    @property  # type: ignore[misc]
    @force_init_env
    def experiment(self) -> Any:
        """The ``wandb`` module (its current run)."""
        return self._wandb

    @force_init_env
    def add_config(self, config: Any, **kwargs: Any) -> None:
        """Record the config into ``wandb.config``."""
        self._wandb.config.update(_config_dict(config))
        if self._log_code_name is not None:
            self._wandb.run.log_code(name=self._log_code_name)

    @force_init_env
    def add_graph(self, model: Any, data_batch: Any, **kwargs: Any) -> None:
        """Watch the model's gradients and parameters."""
        self._wandb.watch(model, **self._watch_kwargs)

    @force_init_env
    def add_image(self, name: str, image: np.ndarray, step: int = 0, **kwargs: Any) -> None:
        """Record an RGB image."""
        self._wandb.log({name: self._wandb.Image(image)}, commit=self._commit)

    @force_init_env
    def add_scalar(self, name: str, value: Any, step: int = 0, **kwargs: Any) -> None:
        """Record one scalar."""
        self._wandb.log({name: to_plain_number(value)}, commit=self._commit)

    @force_init_env
    def add_scalars(self, scalar_dict: dict, step: int = 0, file_path: str | None = None,
                    **kwargs: Any) -> None:
        """Record several scalars as one ``wandb.log`` call."""
        check_scalar_dict(scalar_dict)
        values = {k: to_plain_number(v) for k, v in scalar_dict.items()}
        self._wandb.log(values, commit=self._commit)

    def close(self) -> None:
        """Finish the run."""
        if getattr(self, '_wandb', None) is not None:
            self._wandb.join()


@VISBACKENDS.register_module()
class MLflowVisBackend(_ScalarsEachBackend):
    """Record to MLflow (needs ``mlflow``).

    Args:
        save_dir: Local tracking directory (used when ``tracking_uri`` is not given).
        exp_name: Experiment name. Run name, tags and params are set on the run.
        run_name: Name of the run.
        tags: Tags of the run.
        params: Parameters logged at start.
        tracking_uri: MLflow tracking URI.
        artifact_suffix: Suffixes of files under ``save_dir``'s parent logged as artifacts on
            close.
        tracked_config_keys: Config keys logged as params (all when ``None``).
        artifact_location: Artifact location of a new experiment.
    """

    def __init__(self, save_dir: str, exp_name: str | None = None, run_name: str | None = None,
                 tags: dict | None = None, params: dict | None = None,
                 tracking_uri: str | None = None,
                 artifact_suffix: tuple | str = ('.json', '.log', '.py', 'yaml'),
                 tracked_config_keys: dict | None = None,
                 artifact_location: str | None = None) -> None:
        super().__init__(save_dir)
        self._exp_name, self._run_name = exp_name, run_name
        self._tags, self._params = tags, params
        self._tracking_uri, self._artifact_suffix = tracking_uri, artifact_suffix
        self._tracked_config_keys = tracked_config_keys
        self._artifact_location = artifact_location

    def _init_env(self) -> None:
        mlflow = import_client('mlflow', 'mlflow', 'MLflowVisBackend')
        if self._save_dir is not None:
            os.makedirs(self._save_dir, exist_ok=True)
        uri = self._tracking_uri or (f'file://{osp.abspath(self._save_dir)}'
                                     if self._save_dir else None)
        if uri is not None:
            mlflow.set_tracking_uri(uri)
        name = self._exp_name or 'Default'
        if mlflow.get_experiment_by_name(name) is None:
            mlflow.create_experiment(name, artifact_location=self._artifact_location)
        mlflow.set_experiment(name)
        mlflow.start_run(run_name=self._run_name)
        if self._tags is not None:
            mlflow.set_tags(self._tags)
        if self._params is not None:
            mlflow.log_params(self._params)
        self._mlflow = mlflow

    @property  # type: ignore[misc]
    @force_init_env
    def experiment(self) -> Any:
        """The ``mlflow`` module."""
        return self._mlflow

    @force_init_env
    def add_config(self, config: Any, **kwargs: Any) -> None:
        """Log the tracked config keys as params and the config text as an artifact."""
        values = _config_dict(config)
        if self._tracked_config_keys is not None:
            values = {k: values[k] for k in self._tracked_config_keys if k in values}
        self._mlflow.log_params({k: str(v)[:250] for k, v in values.items()})
        self._mlflow.log_text(config_text(config), 'config.py')

    @force_init_env
    def add_image(self, name: str, image: np.ndarray, step: int = 0, **kwargs: Any) -> None:
        """Log an image artifact."""
        self._mlflow.log_image(image, f'{name}_{step}.png')

    @force_init_env
    def add_scalar(self, name: str, value: Any, step: int = 0, **kwargs: Any) -> None:
        """Log one metric."""
        self._mlflow.log_metric(name, to_plain_number(value), step=step)

    def close(self) -> None:
        """Upload the run's log files and end the run."""
        if getattr(self, '_mlflow', None) is None:
            return
        parent = osp.dirname(self._save_dir) if self._save_dir else None
        for path in _files_with_suffix(parent, self._artifact_suffix):
            self._mlflow.log_artifact(path)
        self._mlflow.end_run()


@VISBACKENDS.register_module()
class ClearMLVisBackend(_ScalarsEachBackend):
    """Record to ClearML (needs ``clearml``).

    Args:
        save_dir: Local directory whose files with ``artifact_suffix`` are uploaded on close.
        init_kwargs: Keyword arguments of ``clearml.Task.init``.
        artifact_suffix: Suffixes of uploaded files. Defaults to ``('.py', '.pth')``.
    """

    def __init__(self, save_dir: str | None = None, init_kwargs: dict | None = None,
                 artifact_suffix: tuple | str = ('.py', '.pth')) -> None:
        super().__init__(save_dir)
        self._init_kwargs = dict(init_kwargs or {})
        self._artifact_suffix = artifact_suffix

    def _init_env(self) -> None:
        clearml = import_client('clearml', 'clearml', 'ClearMLVisBackend')
        self._task = clearml.Task.init(**self._init_kwargs)
        self._logger = self._task.get_logger()

    @property  # type: ignore[misc]
    @force_init_env
    def experiment(self) -> Any:
        """The ClearML task."""
        return self._task

    @force_init_env
    def add_config(self, config: Any, **kwargs: Any) -> None:
        """Connect the config to the task."""
        self._task.connect_configuration(_config_dict(config))

    @force_init_env
    def add_image(self, name: str, image: np.ndarray, step: int = 0, **kwargs: Any) -> None:
        """Report an image."""
        self._logger.report_image(title=name, series=name, iteration=step, image=image)

    @force_init_env
    def add_scalar(self, name: str, value: Any, step: int = 0, **kwargs: Any) -> None:
        """Report one scalar."""
        self._logger.report_scalar(title=name, series=name, value=to_plain_number(value),
                                   iteration=step)

    def close(self) -> None:
        """Upload artifacts and close the task."""
        if getattr(self, '_task', None) is None:
            return
        for path in _files_with_suffix(self._save_dir, self._artifact_suffix):
            self._task.upload_artifact(osp.basename(path), path)
        self._task.close()


@VISBACKENDS.register_module()
class NeptuneVisBackend(_ScalarsEachBackend):
    """Record to Neptune (needs ``neptune``).

    Args:
        save_dir: Unused locally; kept for a uniform interface.
        init_kwargs: Keyword arguments of ``neptune.init_run`` (``project``, ``api_token``...).
    """

    def __init__(self, save_dir: str | None = None, init_kwargs: dict | None = None) -> None:
        super().__init__(save_dir)
        self._init_kwargs = dict(init_kwargs or {})

    def _init_env(self) -> None:
        neptune = import_client('neptune', 'neptune', 'NeptuneVisBackend')
        self._neptune = neptune
        self._run = neptune.init_run(**self._init_kwargs)

    @property  # type: ignore[misc]
    @force_init_env
    def experiment(self) -> Any:
        """The Neptune run."""
        return self._run

    @force_init_env
    def add_config(self, config: Any, **kwargs: Any) -> None:
        """Store the config text under ``config``."""
        self._run['config'] = config_text(config)

    @force_init_env
    def add_image(self, name: str, image: np.ndarray, step: int = 0, **kwargs: Any) -> None:
        """Append an image to the series ``name``."""
        from neptune.types import File
        self._run[name].append(File.as_image(np.asarray(image) / 255.0), step=step)

    @force_init_env
    def add_scalar(self, name: str, value: Any, step: int = 0, **kwargs: Any) -> None:
        """Append a value to the series ``name``."""
        self._run[name].append(to_plain_number(value), step=step)

    def close(self) -> None:
        """Stop the run."""
        if getattr(self, '_run', None) is not None:
            self._run.stop()


@VISBACKENDS.register_module()
class DVCLiveVisBackend(_ScalarsEachBackend):
    """Record with DVCLive (needs ``dvclive``).

    Args:
        save_dir: Directory of the DVCLive output.
        artifact_suffix: Suffixes of files logged as artifacts on close.
        init_kwargs: Keyword arguments of ``dvclive.Live``.
    """

    def __init__(self, save_dir: str, artifact_suffix: tuple | str = ('.json', '.py', 'yaml'),
                 init_kwargs: dict | None = None) -> None:
        super().__init__(save_dir)
        self._artifact_suffix = artifact_suffix
        self._init_kwargs = dict(init_kwargs or {})

    def _init_env(self) -> None:
        dvclive = import_client('dvclive', 'dvclive', 'DVCLiveVisBackend')
        if self._save_dir is not None:
            os.makedirs(self._save_dir, exist_ok=True)
            self._init_kwargs.setdefault('dir', self._save_dir)
        self._dvclive = dvclive.Live(**self._init_kwargs)

    @property  # type: ignore[misc]
    @force_init_env
    def experiment(self) -> Any:
        """The ``dvclive.Live`` object."""
        return self._dvclive

    @force_init_env
    def add_config(self, config: Any, **kwargs: Any) -> None:
        """Log the config as params."""
        self._dvclive.log_params(_config_dict(config))

    @force_init_env
    def add_image(self, name: str, image: np.ndarray, step: int = 0, **kwargs: Any) -> None:
        """Log an image."""
        from PIL import Image
        self._dvclive.step = step
        self._dvclive.log_image(f'{name}.png', Image.fromarray(np.asarray(image)))

    @force_init_env
    def add_scalar(self, name: str, value: Any, step: int = 0, **kwargs: Any) -> None:
        """Log one metric at ``step``."""
        self._dvclive.step = step
        self._dvclive.log_metric(name, to_plain_number(value))

    def close(self) -> None:
        """Log artifacts and end the session."""
        if getattr(self, '_dvclive', None) is None:
            return
        parent = osp.dirname(self._save_dir) if self._save_dir else None
        for path in _files_with_suffix(parent, self._artifact_suffix):
            self._dvclive.log_artifact(path)
        self._dvclive.end()


@VISBACKENDS.register_module()
class AimVisBackend(_ScalarsEachBackend):
    """Record to Aim (needs ``aim``).

    Args:
        save_dir: Unused locally; kept for a uniform interface.
        init_kwargs: Keyword arguments of ``aim.Run``.
    """

    def __init__(self, save_dir: str | None = None, init_kwargs: dict | None = None) -> None:
        super().__init__(save_dir)
        self._init_kwargs = dict(init_kwargs or {})

    def _init_env(self) -> None:
        aim = import_client('aim', 'aim', 'AimVisBackend')
        self._aim = aim
        self._run = aim.Run(**self._init_kwargs)

    @property  # type: ignore[misc]
    @force_init_env
    def experiment(self) -> Any:
        """The Aim run."""
        return self._run

    @force_init_env
    def add_config(self, config: Any, **kwargs: Any) -> None:
        """Store the config as run params."""
        self._run['hparams'] = _config_dict(config)

    @force_init_env
    def add_image(self, name: str, image: np.ndarray, step: int = 0, **kwargs: Any) -> None:
        """Track an image."""
        self._run.track(self._aim.Image(np.asarray(image)), name=name, step=step)

    @force_init_env
    def add_scalar(self, name: str, value: Any, step: int = 0, **kwargs: Any) -> None:
        """Track one metric."""
        self._run.track(to_plain_number(value), name=name, step=step)

    def close(self) -> None:
        """Close the run."""
        if getattr(self, '_run', None) is not None:
            self._run.close()
