"""General utilities (layer 1: imports nothing else from mmengine)."""
from .manager import ManagerMeta, ManagerMixin
from .misc import get_object_from_string
