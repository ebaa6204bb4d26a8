"""Shared test configuration: markers, isolation of global state, working directory."""
from __future__ import annotations

import os

import pytest

from mmengine.utils.manager import ManagerMixin


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
    yield
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
