"""Query and install Python packages."""
from __future__ import annotations

import os.path as osp
import subprocess
import sys
from importlib.util import find_spec


def is_installed(package: str) -> bool:
    """Return whether a distribution (by pip name) or an importable module is installed.

    Examples:
        >>> is_installed('os'), is_installed('no_such_package_xyz')
        (True, False)
    """
    import importlib.metadata  # lazy: costs ~40 ms to import
    try:
        importlib.metadata.distribution(package)
        return True
    except importlib.metadata.PackageNotFoundError:
        pass
    try:
        return find_spec(package) is not None
    except (ImportError, ValueError):
        return False


def package2module(package: str) -> str:
    """Return the top-level module a distribution installs (e.g. ``'pyyaml'`` -> ``'yaml'``).

    Raises:
        ValueError: the distribution is not installed or declares no top-level module.
    """
    import importlib.metadata
    try:
        dist = importlib.metadata.distribution(package)
    except importlib.metadata.PackageNotFoundError as e:
        raise ValueError(f'package {package!r} is not installed; install it first') from e
    top_level = dist.read_text('top_level.txt')
    if top_level:
        names = [n for n in top_level.split() if n]
        # Prefer a public module (pyyaml lists '_yaml' before 'yaml').
        public = [n for n in names if not n.startswith('_')]
        return (public or names)[0]
    for file in dist.files or []:
        parts = file.parts
        if len(parts) > 1 and parts[-1] == '__init__.py' and not parts[0].endswith('-info'):
            return parts[0]
        if len(parts) == 1 and parts[0].endswith('.py'):
            return parts[0][:-3]
    raise ValueError(f'cannot infer the module name of package {package!r}')


def get_installed_path(package: str) -> str:
    """Return the directory an installed package (or importable module) lives in.

    Raises:
        ValueError: the package is not installed.
    """
    spec = None
    try:
        spec = find_spec(package)
    except (ImportError, ValueError):
        spec = None
    if spec is None and is_installed(package):
        spec = find_spec(package2module(package))
    if spec is None or spec.origin is None:
        if spec is not None and spec.submodule_search_locations:
            return list(spec.submodule_search_locations)[0]
        raise ValueError(f'package {package!r} is not installed; install it first')
    if spec.submodule_search_locations:
        return osp.dirname(spec.origin)
    return spec.origin


def call_command(cmd: list[str]) -> None:
    """Run a command; raise ``subprocess.CalledProcessError`` if it fails."""
    subprocess.check_call(cmd)


def install_package(package: str) -> None:
    """Install a package with pip into the running interpreter unless it is installed."""
    if not is_installed(package):
        call_command([sys.executable, '-m', 'pip', 'install', package])
