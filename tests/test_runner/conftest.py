"""Fixtures for runner tests: a RunnerTestCase instance with its toy configs."""
from __future__ import annotations

import pytest

from mmengine.testing import RunnerTestCase


class _Case(RunnerTestCase):
    def runTest(self):  # pragma: no cover - unittest needs one test method
        pass


@pytest.fixture
def case():
    """A set-up ``RunnerTestCase`` (``epoch_based_cfg``, ``iter_based_cfg``, ``build_runner``)."""
    instance = _Case()
    instance.setUp()
    yield instance
    instance.tearDown()
