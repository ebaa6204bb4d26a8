"""Config files: read ``.py``/``.json``/``.yaml`` configs with inheritance, override, dump.

Layer 3: imports only ``mmengine.utils`` and ``mmengine.fileio``.

Coming from MMEngine (deliberate differences and corners left out):

* Names bound by ``import`` statements in a ``_base_``-style ``.py`` config are not config
  keys (MMEngine kept imported classes as keys); names starting with ``_`` are dropped too.
* ``pretty_text`` comes from our own formatter; classes and functions used as values are
  written as ``from module import Name`` references, so such dumps reload as pure-Python
  (lazy) configs whose values build to the same objects. A value with no importable name is
  written as the string of its ``repr``.
* YAML configs are read with the safe loader (no ``!!python`` tags).
* Unknown ``{{ name }}`` placeholders are an error (pass ``use_predefined_variables=False``
  to keep braces literally).
* ``--cfg-options`` values keep the spaces inside them (``a=hello world``).
* Not supported: ``_base_ = 'package::path'`` bases from other installed packages;
  ``{{_base_.x}}`` and ``_base_`` inside pure-Python (``read_base``) configs.
"""
from .config import Config, ConfigDict, DictAction, read_base
from .lazy import LazyAttr, LazyObject

__all__ = ['Config', 'ConfigDict', 'DictAction', 'read_base', 'LazyObject', 'LazyAttr']
