from __future__ import annotations

import os
import os.path as osp
from pathlib import Path

import pytest

from mmengine.utils import (
    check_file_exist,
    fopen,
    is_abs,
    is_filepath,
    mkdir_or_exist,
    scandir,
    symlink,
)
from mmengine.utils.path import find_vcs_root


def _make_tree(root: Path) -> None:
    (root / 'sub' / 'deep').mkdir(parents=True)
    for rel in ['a.py', 'b.TXT', 'sub/c.py', 'sub/deep/d.txt', '.hidden.py']:
        (root / rel).write_text(rel)


def test_is_filepath_and_fopen(tmp_path):
    assert is_filepath('a') and is_filepath(Path('a')) and not is_filepath(1)
    target = tmp_path / 'f.txt'
    with fopen(target, 'w') as f:
        f.write('x')
    with fopen(str(target)) as f:
        assert f.read() == 'x'
    with pytest.raises(ValueError):
        fopen(1)


def test_check_file_exist(tmp_path):
    (tmp_path / 'ok').write_text('')
    check_file_exist(tmp_path / 'ok')
    with pytest.raises(FileNotFoundError, match='missing'):
        check_file_exist(tmp_path / 'missing')
    with pytest.raises(FileNotFoundError, match='^nope '):
        check_file_exist('zz', msg_tmpl='nope {}')


def test_mkdir_or_exist(tmp_path):
    target = tmp_path / 'x' / 'y'
    mkdir_or_exist(target)
    mkdir_or_exist(target)  # existing is fine
    mkdir_or_exist('')
    assert target.is_dir()


def test_symlink(tmp_path):
    (tmp_path / 'src').write_text('1')
    (tmp_path / 'src2').write_text('2')
    symlink(tmp_path / 'src', tmp_path / 'link')
    assert (tmp_path / 'link').read_text() == '1'
    symlink(tmp_path / 'src2', tmp_path / 'link')
    assert (tmp_path / 'link').read_text() == '2'
    with pytest.raises(FileExistsError):
        symlink(tmp_path / 'src', tmp_path / 'link', overwrite=False)


def test_scandir(tmp_path):
    _make_tree(tmp_path)
    assert sorted(scandir(tmp_path)) == ['a.py', 'b.TXT']
    assert sorted(scandir(str(tmp_path), '.py')) == ['a.py']
    assert sorted(scandir(tmp_path, '.py', recursive=True)) == ['a.py', osp.join('sub', 'c.py')]
    assert sorted(scandir(tmp_path, ('.py', '.txt'), recursive=True)) == [
        'a.py', osp.join('sub', 'c.py'), osp.join('sub', 'deep', 'd.txt')]
    assert sorted(scandir(tmp_path, '.txt', case_sensitive=False)) == ['b.TXT']
    with pytest.raises(TypeError):
        list(scandir(1))
    with pytest.raises(TypeError):
        list(scandir(tmp_path, suffix=['.py']))


def test_is_abs_and_vcs_root(tmp_path):
    assert is_abs('/x') and is_abs('s3://b/k') and not is_abs('rel/x')
    (tmp_path / 'repo' / '.git').mkdir(parents=True)
    (tmp_path / 'repo' / 'pkg').mkdir()
    assert find_vcs_root(tmp_path / 'repo' / 'pkg') == str(tmp_path / 'repo')
    os.makedirs(tmp_path / 'other')
    assert find_vcs_root(tmp_path / 'other', markers=('.no_such_marker', )) is None
