"""Registry helpers: default-scope setup and registry-tree inspection."""
from __future__ import annotations

import datetime
import os.path as osp
import warnings
from typing import Any

from .default_scope import DefaultScope
from .registry import Registry


def traverse_registry_tree(registry: Registry, verbose: bool = True) -> list[dict[str, Any]]:
    """List every registry in ``registry``'s tree with its scope and registered names.

    Args:
        registry: Any registry of the tree; the walk starts at its root.
        verbose: Print a summary line per registry.

    Returns:
        One dict per registry: ``num_modules``, ``scope``, ``name`` and ``modules``.
    """
    pending = [registry.root]
    found: list[dict[str, Any]] = []
    while pending:
        node = pending.pop(0)
        found.append(dict(num_modules=len(node.module_dict), scope=node.scope, name=node.name,
                          modules=sorted(node.module_dict)))
        pending.extend(node.children.values())
    if verbose:
        for item in found:
            print(f'Registry {item["name"]!r} (scope {item["scope"]!r}): '
                  f'{item["num_modules"]} modules')
    return found


def count_registered_modules(save_path: str | None = None,
                             verbose: bool = True) -> dict[str, Any]:
    """Count the modules registered in every root registry of mmengine and their children.

    Args:
        save_path: Directory to write ``modules_statistic_results.json`` into, if given.
        verbose: Print the counts.

    Returns:
        ``dict(scope='mmengine', time=..., registries={name: [tree entries]})``.
    """
    from . import root
    registries = {}
    for attr in root.__all__:
        reg = getattr(root, attr)
        registries[reg.name] = traverse_registry_tree(reg, verbose=verbose)
    result = dict(scope=root.MODELS.scope,
                  time=datetime.datetime.now().strftime('%Y%m%d_%H%M%S'),
                  registries=registries)
    if save_path is not None:
        from ..fileio import dump
        dump(result, osp.join(save_path, 'modules_statistic_results.json'), indent=2)
    return result


def init_default_scope(scope: str) -> None:
    """Make ``scope`` the default scope, creating a new DefaultScope instance if needed."""
    current = DefaultScope.get_current_instance()
    if current is None or not DefaultScope.check_instance_created(scope):
        DefaultScope.get_instance(scope, scope_name=scope)
        return
    if current.scope_name != scope:
        warnings.warn(f'The current default scope {current.scope_name!r} is not {scope!r}; '
                      f'switching the default scope to {scope!r}.', stacklevel=2)
        stamp = datetime.datetime.now().strftime('%Y%m%d-%H%M%S-%f')
        DefaultScope.get_instance(f'{scope}-{stamp}', scope_name=scope)
