"""mmengine-ng: the MMEngine training engine for PyTorch, written from scratch."""
from .version import __version__, version_info
