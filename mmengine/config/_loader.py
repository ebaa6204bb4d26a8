"""Reading config files into ConfigDicts: inheritance through ``_base_`` and ``read_base``."""
from __future__ import annotations

import ast
import contextlib
import copy
import importlib.util
import os.path as osp
import types
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ._config_dict import ConfigDict, merge_a_into_b
from ._io import load_data
from ._substitute import (
    check_unknown_variables,
    fill_base_refs,
    has_base_refs,
    substitute_base_refs,
    substitute_env,
    substitute_predefined,
)
from .lazy import LazyObject
from .utils import (
    LAZY_FACTORY,
    ConfigParsingError,
    ImportTransformer,
    RemoveAssignFromAST,
    base_module_spec,
    is_builtin_module,
    is_config_helper_import,
    is_read_base,
)

BASE_KEY = '_base_'
SUPPORTED_EXTENSIONS = ('.py', '.json', '.yaml', '.yml')


class UnsupportedConfigFormatError(OSError, ValueError):
    """The config file's extension is not one of ``.py``, ``.json``, ``.yaml``, ``.yml``.

    compat: MMEngine raises ``IOError`` (OSError) here; it is also a ValueError (a bad value).
    """


@dataclass
class ParsedConfig:
    """What reading a config file (and its bases) produces."""

    cfg_dict: ConfigDict
    text: str = ''
    env_variables: dict[str, str] = field(default_factory=dict)
    imported_names: set[str] = field(default_factory=set)


@dataclass
class ReadOptions:
    """The switches of ``Config.fromfile`` that apply to every file of an inheritance chain."""

    use_predefined_variables: bool = True
    use_environment_variables: bool = True


def resolve_path(filename: Any, referrer: str | None = None) -> str:
    """Return the absolute path of a config file, checking that it exists and is supported.

    Raises:
        FileNotFoundError: If there is no such file.
        UnsupportedConfigFormatError: If the extension is not supported.
    """
    path = osp.abspath(osp.expanduser(str(filename)))
    by = f' (the base of config file {referrer})' if referrer else ''
    if not osp.isfile(path):
        raise FileNotFoundError(f'Config file {str(filename)!r}{by} does not exist: no file at '
                                f'{path}.')
    if osp.splitext(path)[1] not in SUPPORTED_EXTENSIONS:
        raise UnsupportedConfigFormatError(
            f'Config file {path}{by} has an unsupported extension; only '
            f'{", ".join(SUPPORTED_EXTENSIONS)} config files are supported.')
    return path


def read_source(path: str, options: ReadOptions) -> tuple[str, str, dict[str, str]]:
    """Read a config file and apply the text substitutions: (raw text, text, env used)."""
    with open(path, encoding='utf-8') as file:
        raw = file.read()
    text, env = raw, {}
    if options.use_predefined_variables:
        text = substitute_predefined(text, path)
    if options.use_environment_variables:
        text, env = substitute_env(text, path)
    if options.use_predefined_variables:
        check_unknown_variables(text, path)
    return raw, text, env


def _base_assignment(tree: ast.Module) -> ast.Assign | None:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(target, ast.Name) and target.id == BASE_KEY for target in node.targets):
            return node
    return None


def is_lazy_source(text: str, path: str) -> bool:
    """Whether a ``.py`` config is a pure-Python (lazy import) config.

    It is when it uses ``with read_base():``, or imports a module outside the standard library
    (so ``from torch.optim import SGD`` stays lazy); it is not when it assigns ``_base_``.

    Raises:
        ConfigParsingError: If the file mixes ``_base_`` with ``read_base``.
    """
    try:
        tree = ast.parse(text, filename=path)
    except SyntaxError:
        return False  # the regular reader reports the syntax error with file and line
    uses_base = _base_assignment(tree) is not None
    uses_read_base = any(is_read_base(node) for node in tree.body)
    if uses_base and uses_read_base:
        raise ConfigParsingError(f'Config file {path} mixes `_base_ = ...` with `with '
                                 f'read_base():`; use one way of inheriting.')
    if uses_base or uses_read_base:
        return uses_read_base
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and not is_config_helper_import(node):
            if node.level or not is_builtin_module(node.module or ''):
                return True
        if isinstance(node, ast.Import) and any(not is_builtin_module(alias.name)
                                                for alias in node.names):
            return True
    return False


def _is_config_value(key: str, value: Any) -> bool:
    """Whether a top-level name of an executed config file is a config key."""
    return not key.startswith('_') and not isinstance(
        value, (types.ModuleType, types.FunctionType, types.BuiltinFunctionType))


def _import_bound_names(tree: ast.Module) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.asname or a.name.split('.')[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.update(a.asname or a.name for a in node.names)
    return names


def _execute(tree: ast.Module, path: str, namespace: dict) -> None:
    code = compile(tree, path, 'exec')
    try:
        exec(code, namespace)
    except Exception as exc:
        exc.add_note(f'(raised while executing config file {path})')
        raise


# --- _base_ configs (.py, .json, .yaml) -------------------------------------------------------
def _base_files(value: Any, path: str) -> list[str]:
    if value is None:
        return []
    files = [value] if isinstance(value, str) else value
    if not isinstance(files, (list, tuple)) or not all(isinstance(f, str) for f in files):
        raise TypeError(f'_base_ in config file {path} must be a file path or a list of file '
                        f'paths, but got {type(value).__name__}: {value!r}.')
    for name in files:
        if '::' in name:
            raise ValueError(f'_base_ {name!r} in config file {path}: base configs from other '
                             f'packages ("package::path") are not supported; use a path.')
    return [resolve_path(osp.join(osp.dirname(path), osp.expanduser(f)), path) for f in files]


def _py_base_value(tree: ast.Module, path: str) -> Any:
    node = _base_assignment(tree)
    if node is None:
        return None
    try:
        return ast.literal_eval(node.value)
    except ValueError:
        raise TypeError(f'_base_ in config file {path} (line {node.lineno}) must be a literal '
                        f'file path or list of file paths, but got '
                        f'{ast.unparse(node.value)!r}.') from None


def _merge_bases(parsed: list[tuple[str, ParsedConfig]], path: str) -> ParsedConfig:
    """Combine the base configs of ``path``; a key may come from one base only."""
    result = ParsedConfig(ConfigDict())
    owners: dict[Any, str] = {}
    for base_path, base in parsed:
        for key in dict.keys(base.cfg_dict):
            if key in owners:
                raise KeyError(f'Duplicate key {key!r} among the base configs of {path}: it is '
                               f'defined in both {owners[key]} and {base_path}. Define it in '
                               f'one base only, or override it in the child config.')
            owners[key] = base_path
        dict.update(result.cfg_dict, dict.items(base.cfg_dict))
        result.text += base.text
        result.env_variables.update(base.env_variables)
    return result


def parse_file(filename: Any, options: ReadOptions, chain: tuple[str, ...] = ()) -> ParsedConfig:
    """Read a config file that inherits with ``_base_`` (or not at all).

    Raises:
        FileNotFoundError, UnsupportedConfigFormatError, SyntaxError, KeyError, TypeError,
        ConfigParsingError: naming the file (and line where known).
    """
    path = resolve_path(filename, chain[-1] if chain else None)
    if path in chain:
        raise ConfigParsingError(f'Config files inherit in a cycle: '
                                 f'{" -> ".join(chain + (path,))}.')
    raw, text, env = read_source(path, options)
    text, refs = substitute_base_refs(text)
    tree = None
    if path.endswith('.py'):
        tree = ast.parse(text, filename=path)
        base_value = _py_base_value(tree, path)
    else:
        data = load_data(text, osp.splitext(path)[1][1:], path)
        base_value = data.pop(BASE_KEY, None)
    bases = [(f, parse_file(f, options, chain + (path,))) for f in _base_files(base_value, path)]
    result = _merge_bases(bases, path)
    if tree is not None:
        namespace = {BASE_KEY: copy.deepcopy(result.cfg_dict), '__file__': path}
        _execute(RemoveAssignFromAST(BASE_KEY).visit(tree), path, namespace)
        imported = _import_bound_names(tree)
        data = {key: value for key, value in namespace.items()
                if _is_config_value(key, value) and key not in imported}
    data = fill_base_refs(data, refs, result.cfg_dict, path)
    result.cfg_dict = merge_a_into_b(ConfigDict(data), result.cfg_dict)
    result.text += f'{path}\n{raw}\n'
    result.env_variables.update(env)
    return result


# --- pure-Python configs (read_base, lazy imports) --------------------------------------------
@contextlib.contextmanager
def lazy_mode() -> Iterator[None]:
    """Keep lazy values unbuilt when read from ConfigDicts (while a lazy config executes)."""
    previous = ConfigDict.lazy
    ConfigDict.lazy = True
    try:
        yield
    finally:
        ConfigDict.lazy = previous


def _base_module_file(node: ast.ImportFrom, path: str) -> str:
    spec = base_module_spec(node)
    if node.level:
        directory = osp.dirname(path)
        for _ in range(node.level - 1):
            directory = osp.dirname(directory)
        candidate = osp.join(directory, *(node.module or '').split('.')) + '.py'
    else:
        try:
            found = importlib.util.find_spec(node.module or '')
        except (ImportError, ValueError):
            found = None
        candidate = (found.origin or '') if found else f'<module {spec}>'
    if not node.module or not osp.isfile(candidate):
        raise FileNotFoundError(f'Config file {path} (line {node.lineno}) imports base config '
                                f'{spec!r} in read_base(), but no file {candidate} exists.')
    return candidate


def _read_base_imports(tree: ast.Module) -> list[ast.ImportFrom]:
    return [stmt for node in tree.body if is_read_base(node)
            for stmt in node.body if isinstance(stmt, ast.ImportFrom)]


def _check_base_duplicates(nodes: list[ast.ImportFrom], bases: dict[str, ParsedConfig],
                           path: str) -> None:
    owners: dict[str, str] = {}
    for node in nodes:
        spec = base_module_spec(node)
        base = bases[spec].cfg_dict
        names = ([k for k in dict.keys(base) if not str(k).startswith('_')]
                 if node.names[0].name == '*' else [a.asname or a.name for a in node.names])
        for name in names:
            if name in owners and owners[name] != spec:
                raise KeyError(f'Duplicate key {name!r} among the base configs of {path}: it '
                               f'is imported from both {owners[name]!r} and {spec!r}.')
            owners[name] = spec


def parse_lazy_file(filename: Any, options: ReadOptions,
                    chain: tuple[str, ...] = ()) -> ParsedConfig:
    """Read a pure-Python config: bases come from ``with read_base():`` imports, and other
    imports become :class:`LazyObject` values.

    Raises:
        ConfigParsingError: For ``_base_`` or ``{{_base_.x}}`` in such a file, or an
            unsupported statement; other errors as :func:`parse_file`.
    """
    path = resolve_path(filename, chain[-1] if chain else None)
    if not path.endswith('.py') or path in chain:
        raise ConfigParsingError(f'{path}: lazy-import configs must be .py files that do not '
                                 f'inherit from themselves (chain: {" -> ".join(chain)}).')
    raw, text, env = read_source(path, options)
    tree = ast.parse(text, filename=path)
    if _base_assignment(tree) is not None or has_base_refs(text):
        raise ConfigParsingError(
            f'Config file {path} is read as a pure-Python config (it uses read_base() or '
            f'imports), where `_base_` is not supported; inherit with `with read_base(): from '
            f'.base import *`, or load it with lazy_import=False.')
    nodes = _read_base_imports(tree)
    bases = {base_module_spec(n): parse_lazy_file(_base_module_file(n, path), options,
                                                  chain + (path,)) for n in nodes}
    _check_base_duplicates(nodes, bases, path)
    namespace: dict[str, Any] = {LAZY_FACTORY: LazyObject, '__file__': path}
    transformer = ImportTransformer(
        namespace, {spec: base.cfg_dict for spec, base in bases.items()}, path,
        {spec: base.imported_names for spec, base in bases.items()})
    tree = ast.fix_missing_locations(transformer.visit(tree))
    with lazy_mode():
        _execute(tree, path, namespace)
        data = ConfigDict({key: value for key, value in namespace.items()
                           if _is_config_value(key, value)})
    result = ParsedConfig(data, imported_names=transformer.imported_names & set(data.keys()))
    for base in bases.values():
        result.text += base.text
        result.env_variables.update(base.env_variables)
    result.text += f'{path}\n{raw}\n'
    result.env_variables.update(env)
    return result
