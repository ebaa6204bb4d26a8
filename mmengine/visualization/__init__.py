"""Visualization: the Visualizer (drawing + recording) and its backends."""
from .vis_backend import (
    AimVisBackend,
    BaseVisBackend,
    ClearMLVisBackend,
    DVCLiveVisBackend,
    LocalVisBackend,
    MLflowVisBackend,
    NeptuneVisBackend,
    TensorboardVisBackend,
    WandbVisBackend,
)
from .visualizer import Visualizer

__all__ = [
    'Visualizer', 'BaseVisBackend', 'LocalVisBackend', 'WandbVisBackend',
    'TensorboardVisBackend', 'MLflowVisBackend', 'ClearMLVisBackend', 'NeptuneVisBackend',
    'DVCLiveVisBackend', 'AimVisBackend'
]
