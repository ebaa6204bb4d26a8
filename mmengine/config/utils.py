"""AST tools for config files: dropping the ``_base_`` assignment and making imports lazy."""
from __future__ import annotations

import ast
import copy
import sys
from typing import Any

# Modules the config reader handles itself; importing them in a config changes nothing.
_CONFIG_HELPERS = frozenset({'read_base', 'Config', 'ConfigDict'})
LAZY_FACTORY = '__LazyObject__'


class ConfigParsingError(RuntimeError):
    """A config file uses a construct the config reader does not support."""


def is_builtin_module(module_name: str) -> bool:
    """Whether ``module_name`` belongs to the Python standard library.

    Examples:
        >>> is_builtin_module('os.path'), is_builtin_module('torch.nn')
        (True, False)
    """
    top = module_name.split('.')[0]
    return top in sys.stdlib_module_names or top in sys.builtin_module_names


def is_config_helper_import(node: ast.ImportFrom) -> bool:
    """Whether ``node`` only imports config helpers (``from mmengine.config import read_base``)."""
    return (node.level == 0 and node.module in ('mmengine', 'mmengine.config')
            and all(alias.name in _CONFIG_HELPERS for alias in node.names))


def is_read_base(node: ast.AST) -> bool:
    """Whether ``node`` is a ``with read_base():`` statement."""
    if not isinstance(node, ast.With) or len(node.items) != 1:
        return False
    expr = node.items[0].context_expr
    return (isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name)
            and expr.func.id == 'read_base' and not expr.args and not expr.keywords)


def base_module_spec(node: ast.ImportFrom) -> str:
    """The module an import inside ``read_base`` names, with its leading dots (``'..a.b'``)."""
    return '.' * node.level + (node.module or '')


class RemoveAssignFromAST(ast.NodeTransformer):
    """Remove the top-level assignments to one name (``_base_ = ...``) from a module's AST.

    Args:
        key: The assigned name to remove.

    Examples:
        >>> tree = RemoveAssignFromAST('_base_').visit(ast.parse("_base_ = 'a.py'\\nb = 1"))
        >>> ast.unparse(tree)
        'b = 1'
    """

    def __init__(self, key: str) -> None:
        self.key = key

    def visit_Assign(self, node: ast.Assign) -> ast.Assign | None:  # noqa: N802 (ast API)
        if any(isinstance(target, ast.Name) and target.id == self.key
               for target in node.targets):
            return None
        return node


class ImportTransformer(ast.NodeTransformer):
    """Rewrite the imports of a pure-Python config so that nothing is imported while reading.

    * ``with read_base(): from .base import *`` (or ``import name``) copies the values of the
      already-parsed base config from ``base_dict`` into ``global_dict`` and disappears.
    * ``from a.b import c as d`` becomes ``d = LazyObject('a.b', 'c')``; ``import a.b as m``
      becomes ``m = LazyObject('a.b')``; ``import a.b`` binds ``a`` to a LazyObject that imports
      ``a.b`` when built.
    * Standard-library imports stay real imports; ``from mmengine.config import read_base``
      is dropped.

    Every name an import binds is recorded in :attr:`imported_names`.

    Args:
        global_dict: The namespace the config will be executed in; base values go here.
        base_dict: Parsed base configs by module spec (``'.base'``, ``'..a.b'``).
        filename: The config file, for locations in error messages.
        base_imported: For each base spec, the names that base itself imported; they stay
            marked as imported when a star import brings them in.
    """

    def __init__(self, global_dict: dict, base_dict: dict | None = None,
                 filename: str | None = None,
                 base_imported: dict[str, set[str]] | None = None) -> None:
        self.global_dict = global_dict
        self.base_dict = base_dict or {}
        self.filename = filename
        self.base_imported = base_imported or {}
        self.imported_names: set[str] = set()
        self._packages: dict[str, list[str]] = {}  # top name -> modules of `import a.b` lines

    def _where(self, node: ast.AST) -> str:
        return f'{self.filename}, line {getattr(node, "lineno", "?")}'

    def _lazy_assign(self, name: str, module: Any, imported: str | None,
                     node: ast.AST) -> ast.stmt:
        self.imported_names.add(name)
        call = f'{name} = {LAZY_FACTORY}({module!r}, {imported!r}, {self._where(node)!r})'
        return ast.copy_location(ast.parse(call).body[0], node)

    def visit_With(self, node: ast.With) -> ast.AST | None:  # noqa: N802 (ast API)
        if not is_read_base(node):
            raise ConfigParsingError(f'{self._where(node)}: only the `read_base()` context '
                                     f'manager can be used in a config file.')
        for stmt in node.body:
            if not isinstance(stmt, ast.ImportFrom):
                raise ConfigParsingError(
                    f'{self._where(stmt)}: only `from ... import ...` statements of base '
                    f'configs may appear inside `with read_base():`.')
            self._import_base(stmt)
        return None

    def _import_base(self, node: ast.ImportFrom) -> None:
        spec = base_module_spec(node)
        base = self.base_dict[spec]
        if node.names[0].name == '*':
            names = {key: key for key in dict.keys(base) if not str(key).startswith('_')}
        else:
            names = {alias.name: alias.asname or alias.name for alias in node.names}
        for name, bound in names.items():
            if name not in base:
                raise ImportError(f'{self._where(node)}: cannot import {name!r} from base '
                                  f'config {spec!r}; it defines {sorted(dict.keys(base))}.')
            self.global_dict[bound] = copy.deepcopy(dict.__getitem__(base, name))
            if name in self.base_imported.get(spec, ()):
                self.imported_names.add(bound)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> Any:  # noqa: N802 (ast API)
        if is_config_helper_import(node):
            return None
        if node.level:
            raise ConfigParsingError(
                f'{self._where(node)}: relative imports are only allowed for base configs, '
                f'inside `with read_base():`.')
        module = node.module or ''
        if is_builtin_module(module):
            self.imported_names.update(a.asname or a.name for a in node.names)
            return node
        if node.names[0].name == '*':
            raise ConfigParsingError(f'{self._where(node)}: `from {module} import *` cannot be '
                                     f'imported lazily; import the names you use.')
        return [self._lazy_assign(alias.asname or alias.name, module, alias.name, node)
                for alias in node.names]

    def visit_Import(self, node: ast.Import) -> Any:  # noqa: N802 (ast API)
        statements: list[ast.stmt] = []
        for alias in node.names:
            if is_builtin_module(alias.name):
                bound = alias.asname or alias.name.split('.')[0]
                self.imported_names.add(bound)
                statements.append(ast.copy_location(ast.Import(names=[alias]), node))
            elif alias.asname:
                statements.append(self._lazy_assign(alias.asname, alias.name, None, node))
            else:
                top = alias.name.split('.')[0]
                modules = self._packages.setdefault(top, [])
                modules.append(alias.name)
                statements.append(self._lazy_assign(top, list(modules), None, node))
        return statements
