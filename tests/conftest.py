"""Shared test configuration: markers, isolation of global state, working directory."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from mmengine.registry import Registry, root
from mmengine.utils.manager import ManagerMixin

_REPO = Path(__file__).resolve().parents[1]
_PACKAGE = str(_REPO / 'mmengine')


def _registry_trees() -> list[Registry]:
    found, pending = [], [getattr(root, name) for name in root.__all__]
    while pending:
        registry = pending.pop()
        found.append(registry)
        pending.extend(registry.children.values())
    return found


def _package_object(obj: object) -> bool:
    module = getattr(obj, '__module__', '') or ''
    return module.startswith(('mmengine.', 'torch.'))


def _test_module(module: object) -> bool:
    """A module a test imported from the repo (examples, tests' tmp dirs), not the package."""
    path = getattr(module, '__file__', None) or ''
    return (path.startswith(str(_REPO)) or path.startswith('/tmp')) and \
        not path.startswith(_PACKAGE) and '/tests/' not in path


def _all_managed_classes() -> list[type]:
    found, pending = [], [ManagerMixin]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


@pytest.fixture(autouse=True)
def _isolate(tmp_path, monkeypatch):
    """Run each test in its own directory with fresh global instances and environment."""
    monkeypatch.chdir(tmp_path)
    saved_env = dict(os.environ)
    saved = {cls: dict(cls._instance_dict) for cls in _all_managed_classes()}
    for cls in saved:
        cls._instance_dict.clear()
    # Registrations a test makes (directly or by importing an example module) are undone,
    # and such modules are forgotten so that a later import registers them again.
    registries = {reg: dict(reg.module_dict) for reg in _registry_trees()}
    modules_before = set(sys.modules)
    yield
    for registry, module_dict in registries.items():
        # The package's own lazy registrations (e.g. the FSDP wrapper) stay.
        own = {k: v for k, v in registry.module_dict.items() if _package_object(v)}
        registry.module_dict.clear()
        registry.module_dict.update(module_dict)
        registry.module_dict.update(own)
    for name in set(sys.modules) - modules_before:
        if _test_module(sys.modules[name]):
            del sys.modules[name]
    for cls in _all_managed_classes():
        cls._instance_dict.clear()
        cls._instance_dict.update(saved.get(cls, {}))
    os.environ.clear()
    os.environ.update(saved_env)


def pytest_collection_modifyitems(config, items):
    try:
        import torch
        has_cuda = torch.cuda.is_available()
    except ImportError:  # pragma: no cover
        has_cuda = False
    if has_cuda:
        return
    skip_gpu = pytest.mark.skip(reason='needs CUDA')
    for item in items:
        if 'gpu' in item.keywords:
            item.add_marker(skip_gpu)
