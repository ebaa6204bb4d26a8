"""Test-time augmentation: wrap the model for testing and build a runner that uses it."""
from __future__ import annotations

import copy
from typing import Any

from mmengine.registry import HOOKS, MODELS

from .hook import Hook


@HOOKS.register_module()
class PrepareTTAHook(Hook):
    """Wrap ``runner.model`` in the test-time-augmentation model before testing.

    Args:
        tta_cfg: Config of the TTA model (e.g. ``dict(type='MyTTAModel')``); the runner's
            model is passed as its ``module``.
    """

    def __init__(self, tta_cfg: dict) -> None:
        if not isinstance(tta_cfg, dict):
            raise TypeError(f'`tta_cfg` must be a config dict, got {type(tta_cfg).__name__}.')
        self.tta_cfg = tta_cfg

    def before_test(self, runner: Any) -> None:
        """Replace ``runner.model`` by the TTA model wrapping it."""
        cfg = copy.copy(self.tta_cfg)
        cfg['module'] = runner.model
        runner.model = MODELS.build(cfg)


def build_runner_with_tta(cfg: Any) -> Any:
    """Build a runner whose test run uses ``cfg.tta_model`` and ``cfg.tta_pipeline``.

    Args:
        cfg: A full config with ``tta_model`` (the TTA model config) and ``tta_pipeline``
            (the test pipeline producing the augmented views).

    Returns:
        The runner, with a :class:`PrepareTTAHook` registered.
    """
    for key in ('tta_model', 'tta_pipeline'):
        if key not in cfg:
            raise KeyError(f'Test-time augmentation needs `{key}` in the config; add it.')
    cfg = copy.deepcopy(cfg)
    cfg['test_dataloader']['dataset']['pipeline'] = cfg['tta_pipeline']
    from mmengine.registry import RUNNERS
    if 'runner_type' in cfg:
        runner = RUNNERS.build(cfg)
    else:
        from mmengine.runner import Runner
        runner = Runner.from_cfg(cfg)
    runner.register_hook(PrepareTTAHook(tta_cfg=cfg['tta_model']))
    return runner
