"""Register the test metrics by name for each evaluator test."""
import pytest

from ._metrics import register_test_metrics


@pytest.fixture(autouse=True)
def _test_metrics():
    register_test_metrics()
