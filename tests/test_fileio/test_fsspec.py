"""The fsspec backend against fsspec's real in-memory filesystem."""
from __future__ import annotations

import uuid

import pytest

import mmengine.fileio as fileio

pytest.importorskip('fsspec')


@pytest.fixture
def root():
    base = f'memory://test-{uuid.uuid4().hex}'
    yield base
    if fileio.exists(base):
        fileio.rmtree(base)


def test_get_put_exists(root):
    fileio.put(b'bytes', f'{root}/a/b.bin')
    assert fileio.get(f'{root}/a/b.bin') == b'bytes'
    fileio.put_text('text', f'{root}/t.txt')
    assert fileio.get_text(f'{root}/t.txt') == 'text'
    assert fileio.exists(f'{root}/a/b.bin') and fileio.isfile(f'{root}/a/b.bin')
    assert fileio.isdir(f'{root}/a') and not fileio.isfile(f'{root}/a')
    assert not fileio.exists(f'{root}/missing')
    assert fileio.join_path(root + '/', 'a', '/b.bin') == f'{root}/a/b.bin'


def test_load_dump_round_trip(root):
    obj = {'x': [1, 2], 'y': 'z'}
    for ext in ['json', 'yaml', 'pkl']:
        fileio.dump(obj, f'{root}/obj.{ext}')
        assert fileio.load(f'{root}/obj.{ext}') == obj
    assert fileio.get_text(f'{root}/obj.json') == '{"x": [1, 2], "y": "z"}'


def test_list_dir_or_file(root):
    for rel in ['a.py', 'b.txt', 'd/c.py', 'd/e/f.py']:
        fileio.put_text(rel, f'{root}/{rel}')

    def listing(**kwargs):
        return sorted(fileio.list_dir_or_file(root, **kwargs))

    assert listing() == ['a.py', 'b.txt', 'd']
    assert listing(list_dir=False, suffix='.py', recursive=True) == ['a.py', 'd/c.py',
                                                                     'd/e/f.py']
    assert listing(list_file=False, recursive=True) == ['d', 'd/e']


def test_copy_remove_and_local_transfer(root, tmp_path):
    fileio.put_text('v', f'{root}/src.txt')
    fileio.copyfile(f'{root}/src.txt', f'{root}/dst.txt')
    assert fileio.get_text(f'{root}/dst.txt') == 'v'
    with fileio.get_local_path(f'{root}/src.txt') as local:
        with open(local) as f:
            assert f.read() == 'v'
    fileio.copyfile_to_local(f'{root}/src.txt', tmp_path / 'local.txt')
    assert (tmp_path / 'local.txt').read_text() == 'v'
    (tmp_path / 'tree' / 'sub').mkdir(parents=True)
    (tmp_path / 'tree' / 'sub' / 'f.txt').write_text('deep')
    fileio.copytree_from_local(tmp_path / 'tree', f'{root}/tree')
    assert fileio.get_text(f'{root}/tree/sub/f.txt') == 'deep'
    fileio.copytree(f'{root}/tree', f'{root}/tree2')
    fileio.copytree_to_local(f'{root}/tree2', tmp_path / 'back')
    assert (tmp_path / 'back' / 'sub' / 'f.txt').read_text() == 'deep'
    fileio.copyfile_from_local(tmp_path / 'local.txt', f'{root}/up.txt')
    assert fileio.get(f'{root}/up.txt') == b'v'
    assert not fileio.copy_if_symlink_fails(f'{root}/src.txt', f'{root}/ln.txt')
    with pytest.raises(IsADirectoryError):
        fileio.remove(f'{root}/tree')
    fileio.remove(f'{root}/src.txt')
    assert not fileio.exists(f'{root}/src.txt')
    with pytest.raises(FileNotFoundError):
        fileio.remove(f'{root}/src.txt')
    fileio.rmtree(f'{root}/tree')
    assert not fileio.exists(f'{root}/tree/sub/f.txt')


def test_list_from_file(root):
    fileio.put_text('a\nb\n', f'{root}/list.txt')
    assert fileio.list_from_file(f'{root}/list.txt') == ['a', 'b']
    fileio.put_text('k v\n', f'{root}/dict.txt')
    assert fileio.dict_from_file(f'{root}/dict.txt') == {'k': 'v'}


def test_missing_fsspec_message(monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, 'fsspec', None)
    from mmengine.fileio.backends import FsspecBackend
    with pytest.raises(ImportError, match='pip install fsspec'):
        FsspecBackend()
