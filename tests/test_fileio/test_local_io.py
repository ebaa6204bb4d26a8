from __future__ import annotations

import os.path as osp
from pathlib import Path

import pytest

import mmengine.fileio as fileio
from mmengine.fileio import LocalBackend


def _tree(root: Path) -> None:
    (root / 'd1' / 'd2').mkdir(parents=True)
    (root / 'a.txt').write_text('a')
    (root / 'b.py').write_text('b')
    (root / 'd1' / 'c.txt').write_text('c')
    (root / 'd1' / 'd2' / 'e.py').write_text('e')


def test_get_put_exists(tmp_path):
    path = tmp_path / 'x' / 'f.bin'
    fileio.put(b'\x00\x01', path)
    assert fileio.get(path) == b'\x00\x01'
    fileio.put_text('txt', str(path))
    assert fileio.get_text(path) == 'txt'
    assert fileio.exists(path) and fileio.isfile(path) and not fileio.isdir(path)
    assert fileio.isdir(tmp_path / 'x') and not fileio.exists(tmp_path / 'nope')
    assert fileio.join_path(str(tmp_path), 'x', 'f.bin') == str(path)


def test_backend_args_pick_local(tmp_path):
    path = tmp_path / 'f.txt'
    fileio.put_text('v', path, backend_args={'backend': 'local'})
    assert fileio.get_text(path, backend_args={'backend': 'local'}) == 'v'


def test_list_dir_or_file(tmp_path):
    _tree(tmp_path)
    (tmp_path / '.hidden').write_text('h')

    def listing(**kwargs):
        return sorted(fileio.list_dir_or_file(tmp_path, **kwargs))

    assert listing() == ['a.txt', 'b.py', 'd1']
    assert listing(list_dir=False) == ['a.txt', 'b.py']
    assert listing(list_file=False) == ['d1']
    assert listing(list_file=False, recursive=True) == ['d1', osp.join('d1', 'd2')]
    assert listing(list_dir=False, suffix='.py', recursive=True) == [
        'b.py', osp.join('d1', 'd2', 'e.py')]
    assert listing(list_dir=False, suffix=('.py', '.txt')) == ['a.txt', 'b.py']
    assert len(listing(recursive=True)) == 6
    with pytest.raises(TypeError, match='list_dir'):
        listing(suffix='.py')
    with pytest.raises(TypeError, match='tuple of strings'):
        listing(list_dir=False, suffix=['.py'])


def test_remove_and_rmtree(tmp_path):
    _tree(tmp_path)
    fileio.remove(tmp_path / 'a.txt')
    assert not (tmp_path / 'a.txt').exists()
    with pytest.raises(FileNotFoundError):
        fileio.remove(tmp_path / 'a.txt')
    with pytest.raises(IsADirectoryError):
        fileio.remove(tmp_path / 'd1')
    fileio.rmtree(tmp_path / 'd1')
    assert not (tmp_path / 'd1').exists()


def test_copy_functions(tmp_path):
    _tree(tmp_path)
    dst_dir = tmp_path / 'out'
    dst_dir.mkdir()
    assert fileio.copyfile(tmp_path / 'a.txt', dst_dir) == str(dst_dir / 'a.txt')
    assert str(fileio.copyfile(tmp_path / 'a.txt', dst_dir / 'z.txt')) == str(dst_dir / 'z.txt')
    assert (dst_dir / 'z.txt').read_text() == 'a'
    fileio.copytree(tmp_path / 'd1', tmp_path / 'd1_copy')
    assert (tmp_path / 'd1_copy' / 'd2' / 'e.py').read_text() == 'e'
    with pytest.raises(FileExistsError):
        fileio.copytree(tmp_path / 'd1', tmp_path / 'd1_copy')
    fileio.copyfile_from_local(tmp_path / 'b.py', tmp_path / 'b1.py')
    fileio.copyfile_to_local(tmp_path / 'b.py', tmp_path / 'b2.py')
    fileio.copytree_from_local(tmp_path / 'd1', tmp_path / 'd3')
    fileio.copytree_to_local(tmp_path / 'd1', tmp_path / 'd4')
    assert (tmp_path / 'b1.py').read_text() == (tmp_path / 'b2.py').read_text() == 'b'
    assert (tmp_path / 'd3' / 'c.txt').exists() and (tmp_path / 'd4' / 'c.txt').exists()


def test_copy_if_symlink_fails(tmp_path, monkeypatch):
    _tree(tmp_path)
    assert fileio.copy_if_symlink_fails(tmp_path / 'a.txt', tmp_path / 'link.txt')
    assert osp.islink(tmp_path / 'link.txt')

    def no_symlink(*args, **kwargs):
        raise OSError('symlinks unsupported')

    monkeypatch.setattr('os.symlink', no_symlink)
    assert not fileio.copy_if_symlink_fails(tmp_path / 'a.txt', tmp_path / 'copy.txt')
    assert not fileio.copy_if_symlink_fails(tmp_path / 'd1', tmp_path / 'd1c')
    assert (tmp_path / 'copy.txt').read_text() == 'a' and not osp.islink(tmp_path / 'copy.txt')
    assert (tmp_path / 'd1c' / 'c.txt').exists()


def test_get_local_path_is_identity(tmp_path):
    (tmp_path / 'f').write_text('1')
    with fileio.get_local_path(tmp_path / 'f') as local:
        assert Path(local) == tmp_path / 'f'
    assert LocalBackend().allow_symlink and LocalBackend().name == 'LocalBackend'


def test_presigned_url_unsupported_locally(tmp_path):
    with pytest.raises(NotImplementedError):
        fileio.generate_presigned_url(str(tmp_path / 'f'))


def test_list_and_dict_from_file(tmp_path):
    (tmp_path / 'l.txt').write_text('a\nb\nc\nd\n')
    assert fileio.list_from_file(tmp_path / 'l.txt') == ['a', 'b', 'c', 'd']
    assert fileio.list_from_file(tmp_path / 'l.txt', prefix='p/', offset=1, max_num=2) == [
        'p/b', 'p/c']
    (tmp_path / 'd.txt').write_text('1 cat\n2 dog cow\n\n3 fish\n')
    assert fileio.dict_from_file(tmp_path / 'd.txt') == {
        '1': 'cat', '2': ['dog', 'cow'], '3': 'fish'}
    assert fileio.dict_from_file(tmp_path / 'd.txt', key_type=int)[2] == ['dog', 'cow']
    (tmp_path / 'bad.txt').write_text('lonely\n')
    with pytest.raises(ValueError, match='no value'):
        fileio.dict_from_file(tmp_path / 'bad.txt')
