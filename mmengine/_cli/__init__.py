"""The ``mmengine`` command line: train, test, config, plot-lr, plot-logs, env."""
from .main import main

__all__ = ['main']
