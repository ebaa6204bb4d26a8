"""mmengine-ng: the MMEngine training engine for PyTorch, written from scratch."""
from .config import *
from .fileio import *
from .logging import *
from .registry import *
from .utils import *
from .version import __version__, version_info
