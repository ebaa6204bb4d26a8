"""Every public name of the reference interface imports from its package.

The manifest is the project's shared spec (``../shared/spec/public_api.txt`` beside the
repository); the test skips where that folder is absent.
"""
from __future__ import annotations

import importlib
from pathlib import Path

import pytest

SPEC = Path(__file__).resolve().parents[3] / 'shared' / 'spec' / 'public_api.txt'


def _entries() -> list[tuple[str, str]]:
    if not SPEC.is_file():
        return []
    pairs = []
    for line in SPEC.read_text().splitlines():
        if line.strip():
            module, name = line.split()
            pairs.append((module, name))
    return pairs


@pytest.mark.skipif(not SPEC.is_file(), reason='the shared spec folder is not beside the repo')
def test_every_public_name_imports():
    missing = []
    for module, name in _entries():
        try:
            getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError) as exc:
            missing.append(f'{module}.{name}: {exc}')
    assert not missing, '\n'.join(missing)
