from __future__ import annotations

import os.path as osp
import subprocess
import sys

import pytest

from mmengine.utils import call_command, get_installed_path, install_package, is_installed
from mmengine.utils.package_utils import package2module


def test_is_installed():
    assert is_installed('pyyaml')  # distribution name
    assert is_installed('yaml')  # module name
    assert not is_installed('no_such_package_qq')


def test_get_installed_path():
    import yaml
    assert get_installed_path('yaml') == osp.dirname(yaml.__file__)
    assert get_installed_path('pyyaml') == osp.dirname(yaml.__file__)
    assert package2module('pyyaml') == 'yaml'
    with pytest.raises(ValueError, match='not installed'):
        get_installed_path('no_such_package_qq')


def test_call_command_and_install():
    call_command([sys.executable, '-c', 'pass'])
    with pytest.raises(subprocess.CalledProcessError):
        call_command([sys.executable, '-c', 'raise SystemExit(3)'])
    install_package('pyyaml')  # already installed: no pip call
