"""The Config facade: read config files, access and override values, write them back."""
from __future__ import annotations

import copy
import difflib
import math
import os.path as osp
import tempfile
from argparse import Action, ArgumentParser, Namespace
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ._config_dict import ConfigDict, merge_a_into_b
from ._io import DATA_FORMATS, dump_data
from ._loader import (
    SUPPORTED_EXTENSIONS,
    ReadOptions,
    UnsupportedConfigFormatError,
    is_lazy_source,
    parse_file,
    parse_lazy_file,
    read_source,
    resolve_path,
)
from ._options import add_args, options_to_nested, parse_option_value
from ._pretty import WIDTH, format_config

__all__ = ['Config', 'ConfigDict', 'DictAction', 'add_args', 'read_base']

RESERVED_KEYS = ('filename', 'text', 'pretty_text', 'env_variables')
_STATE = ('_cfg_dict', '_filename', '_text', '_env_variables', '_format_python_code',
          '_imported_names')


class Config:
    """A config: a :class:`ConfigDict` of values plus where it came from.

    Values are read as attributes or items (``cfg.model.type``, ``cfg['model']``), and
    ``get``, ``in``, ``len``, iteration, ``keys``/``items``, ``pop`` and ``update`` go to the
    underlying ConfigDict. Configs are usually read with :meth:`fromfile`.

    Args:
        cfg_dict: The values. Defaults to an empty config.
        cfg_text: The source text; read from ``filename`` when omitted.
        filename: The file the config was read from.
        env_variables: Environment variables substituted while reading the file.
        format_python_code: Whether :attr:`pretty_text` wraps long lines.

    Raises:
        TypeError: If ``cfg_dict`` is not a dict.
        KeyError: If it uses a reserved key (``filename``, ``text``, ``pretty_text``,
            ``env_variables``).

    Examples:
        >>> cfg = Config(dict(model=dict(type='ToyModel', layers=2)))
        >>> cfg.model.layers, cfg['model']['type'], 'model' in cfg
        (2, 'ToyModel', True)
        >>> cfg.merge_from_dict({'model.layers': 4})
        >>> print(cfg.pretty_text, end='')
        model = dict(type='ToyModel', layers=4)
    """

    def __init__(self, cfg_dict: dict | None = None, cfg_text: str | None = None,
                 filename: str | Path | None = None, env_variables: dict | None = None,
                 format_python_code: bool = True) -> None:
        if cfg_dict is None:
            cfg_dict = {}
        if not isinstance(cfg_dict, dict):
            raise TypeError(f'cfg_dict must be a dict, but got {type(cfg_dict).__name__}: '
                            f'{cfg_dict!r}.')
        for key in RESERVED_KEYS:
            if key in cfg_dict:
                raise KeyError(f'{key!r} is a reserved name of Config and cannot be a config '
                               f'key; rename it.')
        if not isinstance(cfg_dict, ConfigDict):
            cfg_dict = ConfigDict(cfg_dict)
        filename = str(filename) if filename is not None else None
        if cfg_text is None:
            cfg_text = _read_text(filename)
        state = dict(_cfg_dict=cfg_dict, _filename=filename, _text=cfg_text,
                     _env_variables=dict(env_variables or {}),
                     _format_python_code=format_python_code, _imported_names=set())
        for name, value in state.items():
            object.__setattr__(self, name, value)

    # --- reading ----------------------------------------------------------------------------
    @staticmethod
    def fromfile(filename: str | Path, use_predefined_variables: bool = True,
                 import_custom_modules: bool = True, use_environment_variables: bool = True,
                 lazy_import: bool | None = None, format_python_code: bool = True) -> Config:
        """Read a ``.py``, ``.json``, ``.yaml`` or ``.yml`` config file and its bases.

        Args:
            filename: The config file.
            use_predefined_variables: Replace ``{{ fileDirname }}``, ``{{ fileBasename }}``,
                ``{{ fileBasenameNoExtension }}`` and ``{{ fileExtname }}``.
            import_custom_modules: Import the modules listed in ``custom_imports``.
            use_environment_variables: Replace ``{{$NAME:default}}`` by environment variables.
            lazy_import: Read a ``.py`` file as a pure-Python config (``read_base`` and lazy
                imports). ``None`` decides from the file: it is one when it uses
                ``read_base()`` or imports non-standard-library modules, and does not assign
                ``_base_``.
            format_python_code: Whether :attr:`pretty_text` wraps long lines.

        Raises:
            FileNotFoundError: The file or one of its bases does not exist.
            SyntaxError: A ``.py`` file is not valid Python (file and line are named).
            KeyError: Two bases define the same key, or an environment variable is unset.
            ValueError: An unknown ``{{ variable }}``; a bad extension (also an OSError).
        """
        options = ReadOptions(use_predefined_variables, use_environment_variables)
        path = resolve_path(filename)
        if lazy_import is None:
            lazy_import = path.endswith('.py') and is_lazy_source(
                read_source(path, options)[1], path)
        parsed = (parse_lazy_file if lazy_import else parse_file)(path, options)
        custom_imports = parsed.cfg_dict.get('custom_imports')
        if import_custom_modules and custom_imports:
            _import_custom_modules(custom_imports, path)
        cfg = Config(parsed.cfg_dict, cfg_text=parsed.text, filename=path,
                     env_variables=parsed.env_variables, format_python_code=format_python_code)
        object.__setattr__(cfg, '_imported_names', parsed.imported_names)
        return cfg

    @staticmethod
    def fromstring(cfg_str: str, file_format: str) -> Config:
        """Read a config from text in the format ``file_format`` (``'.py'``, ``'.json'``,
        ``'.yaml'`` or ``'.yml'``).

        Raises:
            UnsupportedConfigFormatError: For other formats (an OSError and a ValueError).
        """
        if file_format not in SUPPORTED_EXTENSIONS:
            raise UnsupportedConfigFormatError(
                f'file_format must be one of {", ".join(SUPPORTED_EXTENSIONS)}, but got '
                f'{file_format!r}.')
        with tempfile.TemporaryDirectory() as directory:
            path = osp.join(directory, f'config{file_format}')
            with open(path, 'w', encoding='utf-8') as file:
                file.write(cfg_str)
            cfg = Config.fromfile(path)
        object.__setattr__(cfg, '_filename', None)
        object.__setattr__(cfg, '_text', cfg_str)
        return cfg

    @staticmethod
    def auto_argparser(description: str | None = None) -> tuple[ArgumentParser, Config]:
        """Build an argument parser with a ``config`` positional and one ``--key`` per value.

        Returns:
            The parser and the config read from the command line's ``config`` argument.
        """
        partial = ArgumentParser(description=description)
        partial.add_argument('config', help='config file path')
        cfg = Config.fromfile(partial.parse_known_args()[0].config)
        parser = ArgumentParser(description=description)
        parser.add_argument('config', help='config file path')
        add_args(parser, cfg)
        return parser, cfg

    # --- properties -------------------------------------------------------------------------
    @property
    def filename(self) -> str | None:
        """The file the config was read from, or None."""
        return self._filename

    @property
    def text(self) -> str:
        """The source text: each file read (bases first) as its path, then its content."""
        return self._text

    @property
    def env_variables(self) -> dict:
        """The environment variables substituted while reading, with their values."""
        return self._env_variables

    @property
    def pretty_text(self) -> str:
        """The config as readable Python source that loads back to an equal config."""
        width = WIDTH if self._format_python_code else math.inf
        return format_config(self._visible_dict(), width)

    def _visible_dict(self) -> ConfigDict:
        cfg_dict = self._cfg_dict
        if not self._imported_names:
            return cfg_dict
        return ConfigDict({key: value for key, value in dict.items(cfg_dict)
                           if key not in self._imported_names})

    # --- access (delegated to the ConfigDict) -----------------------------------------------
    def __getattr__(self, name: str) -> Any:
        if name in _STATE or name.startswith('__'):
            raise AttributeError(name)  # during unpickling, before the state is restored
        return getattr(self._cfg_dict, name)

    def __getitem__(self, name: Any) -> Any:
        return self._cfg_dict[name]

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._cfg_dict, name, value)

    def __setitem__(self, name: Any, value: Any) -> None:
        self._cfg_dict[name] = value

    def __delattr__(self, name: str) -> None:
        delattr(self._cfg_dict, name)

    def __delitem__(self, name: Any) -> None:
        del self._cfg_dict[name]

    def __len__(self) -> int:
        return len(self._cfg_dict)

    def __iter__(self) -> Iterator:
        return iter(self._cfg_dict)

    def __contains__(self, name: Any) -> bool:
        return name in self._cfg_dict

    def __repr__(self) -> str:
        return f'Config (path: {self.filename}):\n{self.pretty_text}'

    # --- copying and pickling ---------------------------------------------------------------
    def __getstate__(self) -> dict:
        return {name: object.__getattribute__(self, name) for name in _STATE}

    def __setstate__(self, state: dict) -> None:
        for name in _STATE:
            object.__setattr__(self, name, state.get(name, set() if name == '_imported_names'
                                                     else None))

    def __copy__(self) -> Config:
        new = type(self).__new__(type(self))
        new.__setstate__(self.__getstate__())
        return new

    copy = __copy__

    def __deepcopy__(self, memo: dict) -> Config:
        new = type(self).__new__(type(self))
        memo[id(self)] = new
        new.__setstate__(copy.deepcopy(self.__getstate__(), memo))
        return new

    # --- output and updates -----------------------------------------------------------------
    def dump(self, file: str | Path | None = None) -> str | None:
        """Write the config to ``file`` in the format of its extension, or return it as text.

        Args:
            file: ``.py`` writes :attr:`pretty_text`; ``.json``, ``.yaml``, ``.yml`` write the
                values (tuples become lists). ``None`` returns the text, in the format of
                :attr:`filename` (Python when there is none).

        Raises:
            ValueError: For another extension.
            TypeError: If a value (a class, a lazy import) has no json/yaml form.
        """
        target = str(file) if file is not None else self.filename or 'config.py'
        extension = osp.splitext(target)[1]
        if extension not in SUPPORTED_EXTENSIONS:
            raise ValueError(f'Cannot dump a config to {target!r}: the extension must be one '
                             f'of {", ".join(SUPPORTED_EXTENSIONS)}.')
        if extension[1:] in DATA_FORMATS:
            return dump_data(self._visible_dict(), file, extension[1:])
        if file is None:
            return self.pretty_text
        with open(file, 'w', encoding='utf-8') as handle:
            handle.write(self.pretty_text)
        return None

    def merge_from_dict(self, options: dict, allow_list_keys: bool = True) -> None:
        """Override values by dotted keys: ``{'model.layers': 4, 'data.0.x': 1}``.

        Args:
            options: Dotted keys to values; dict values merge into the dicts they replace
                (``_delete_=True`` replaces instead).
            allow_list_keys: Let digit keys index into lists (``'data.0.x'``).

        Raises:
            KeyError: A list index is out of range.
            TypeError: A dotted key goes through a value that is not a dict (or list).
        """
        merge_a_into_b(options_to_nested(options), self._cfg_dict, allow_list_keys)

    @staticmethod
    def diff(cfg1: Config | str, cfg2: Config | str) -> str:
        """A unified diff of the pretty texts of two configs (or config files)."""
        texts = [(c if isinstance(c, Config) else Config.fromfile(c)).pretty_text
                 for c in (cfg1, cfg2)]
        lines = difflib.unified_diff(texts[0].splitlines(), texts[1].splitlines(),
                                     'cfg1', 'cfg2', lineterm='')
        return '\n'.join(lines)

    def to_dict(self, keep_imported: bool = False) -> dict:
        """The values as plain dicts and lists, with lazy values built.

        Args:
            keep_imported: Keep the top-level names bound by imports in a pure-Python config.
        """
        source = self._cfg_dict if keep_imported else self._visible_dict()
        return source.to_dict()


def _read_text(filename: str | None) -> str:
    if filename and osp.isfile(filename):
        with open(filename, encoding='utf-8') as file:
            return file.read()
    return ''


def _import_custom_modules(custom_imports: Any, path: str) -> None:
    from ..utils.misc import import_modules_from_strings
    if not isinstance(custom_imports, dict) or 'imports' not in custom_imports:
        raise TypeError(f'custom_imports in config file {path} must be a dict like '
                        f'dict(imports=[...], allow_failed_imports=False), but got '
                        f'{custom_imports!r}.')
    try:
        import_modules_from_strings(**custom_imports)
    except ImportError as exc:
        raise ImportError(f'custom_imports of config file {path}: {exc}') from exc


class DictAction(Action):
    """An argparse action collecting ``KEY=VALUE`` pairs into a dict.

    Values are parsed as ints, floats, bools (``true``/``false``), ``None``, comma-separated
    lists (``a,b``), lists ``[1,2]`` and tuples ``(1,2)``, nested to any depth; anything else
    stays a string. Use it with ``nargs='+'``; the dict suits :meth:`Config.merge_from_dict`.

    Examples:
        >>> parser = ArgumentParser()
        >>> _ = parser.add_argument('--cfg-options', nargs='+', action=DictAction)
        >>> parser.parse_args(['--cfg-options', 'a.b=1', 'c=[1,(2,x)]']).cfg_options
        {'a.b': 1, 'c': [1, (2, 'x')]}
    """

    def __call__(self, parser: ArgumentParser, namespace: Namespace,
                 values: str | Sequence[Any] | None, option_string: str | None = None) -> None:
        options = copy.copy(getattr(namespace, self.dest, None) or {})
        items = [values] if isinstance(values, str) else list(values or [])
        for item in items:
            key, sep, value = str(item).partition('=')
            if not sep or not key:
                parser.error(f'{option_string or self.dest} expects KEY=VALUE pairs, but got '
                             f'{item!r}.')
            options[key] = parse_option_value(value)
        setattr(namespace, self.dest, options)


@contextmanager
def read_base() -> Iterator[None]:
    """Mark the imports of base configs in a pure-Python config file.

    ``with read_base(): from .base import *`` makes the values of ``base.py`` available in the
    config that inherits them. The config reader handles the block itself; executed outside
    it (when the file is imported as a module), this context manager does nothing.
    """
    yield
