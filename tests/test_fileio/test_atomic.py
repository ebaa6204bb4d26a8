from __future__ import annotations

import os
import stat

import pytest

from mmengine.fileio import dump, load, put, put_text
from mmengine.fileio.backends.local_backend import atomic_write


class Boom(RuntimeError):
    pass


def _half_then_raise(f):
    f.write(b'partial')
    f.flush()
    raise Boom('writer failed midway')


def test_failed_write_leaves_no_file(tmp_path):
    target = tmp_path / 'new.bin'
    with pytest.raises(Boom):
        atomic_write(target, _half_then_raise)
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []  # temp file removed as well


def test_failed_write_keeps_old_content(tmp_path):
    target = tmp_path / 'old.bin'
    put(b'original', target)
    with pytest.raises(Boom):
        atomic_write(target, _half_then_raise)
    assert target.read_bytes() == b'original'
    assert [p.name for p in tmp_path.iterdir()] == ['old.bin']


def test_dump_failure_midway_keeps_old_file(tmp_path):
    target = tmp_path / 'state.json'
    dump({'ok': 1}, target)

    class Unserializable:
        pass

    # json writes the first items to the temporary file before reaching the bad value
    with pytest.raises(TypeError):
        dump({'a': list(range(1000)), 'z': Unserializable()}, target)
    assert load(target) == {'ok': 1}
    assert [p.name for p in tmp_path.iterdir()] == ['state.json']


def test_put_text_and_permissions(tmp_path):
    target = tmp_path / 'sub' / 't.txt'
    put_text('héllo\nworld\n', target)
    assert target.read_text(encoding='utf-8') == 'héllo\nworld\n'
    mode = stat.S_IMODE(os.stat(target).st_mode)
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask  # not the 0600 of a raw temp file
