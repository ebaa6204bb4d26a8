from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from mmengine.fileio import (
    BaseFileHandler,
    JsonHandler,
    PickleHandler,
    YamlHandler,
    dump,
    load,
    register_handler,
)
from mmengine.fileio.handlers import file_handlers

OBJ = {'a': 1, 'b': [1.5, 'x', None], 'c': {'d': True}}


@pytest.mark.parametrize('ext', ['json', 'yaml', 'yml', 'pickle', 'pkl'])
def test_round_trip_by_extension(tmp_path, ext):
    path = tmp_path / f'obj.{ext}'
    dump(OBJ, str(path))
    assert load(str(path)) == OBJ
    dump(OBJ, path)  # pathlib.Path
    assert load(path) == OBJ


@pytest.mark.parametrize('fmt', ['json', 'yaml', 'pickle'])
def test_round_trip_file_objects_and_explicit_format(tmp_path, fmt):
    binary = fmt == 'pickle'
    buffer = io.BytesIO() if binary else io.StringIO()
    dump(OBJ, buffer, file_format=fmt)
    buffer.seek(0)
    assert load(buffer, file_format=fmt) == OBJ
    # an extension that says nothing is overridden by file_format
    dump(OBJ, tmp_path / 'data.bin', file_format=fmt)
    assert load(tmp_path / 'data.bin', file_format=fmt) == OBJ


def test_dump_to_string():
    text = dump(OBJ, file_format='json')
    assert isinstance(text, str) and load(io.StringIO(text), file_format='json') == OBJ
    assert dump({'k': 1}, file_format='yaml') == 'k: 1\n'
    data = dump(OBJ, file_format='pkl')
    assert isinstance(data, bytes) and load(io.BytesIO(data), file_format='pkl') == OBJ


def test_dump_kwargs_reach_handler():
    assert dump({'a': 1}, file_format='json', indent=2) == '{\n  "a": 1\n}'


def test_numpy_to_json():
    obj = {'arr': np.arange(3), 'f': np.float32(0.5), 'i': np.int64(7), 's': {1},
           'm': np.ones((2, 2), dtype=np.uint8)}
    text = dump(obj, file_format='json')
    assert load(io.StringIO(text), file_format='json') == {
        'arr': [0, 1, 2], 'f': 0.5, 'i': 7, 's': [1], 'm': [[1, 1], [1, 1]]}
    with pytest.raises(TypeError, match='unsupported for json'):
        dump({'x': object()}, file_format='json')


def test_format_errors(tmp_path):
    with pytest.raises(ValueError, match='file_format'):
        dump(OBJ)
    with pytest.raises(TypeError, match='Unsupported format'):
        dump(OBJ, tmp_path / 'x.unknownext')
    with pytest.raises(TypeError, match='Unsupported format'):
        load(tmp_path / 'x.unknownext')
    with pytest.raises(ValueError, match='file_format'):
        load(io.StringIO('{}'))
    with pytest.raises(TypeError, match='file object'):
        load(123, file_format='json')
    with pytest.raises(TypeError, match='file object'):
        dump(OBJ, 123, file_format='json')


def test_register_handler(tmp_path):

    @register_handler(['txt1', 'txt2'])
    class TxtHandler(BaseFileHandler):

        def load_from_fileobj(self, file, **kwargs):
            return file.read().split(',')

        def dump_to_fileobj(self, obj, file, **kwargs):
            file.write(','.join(obj))

        def dump_to_str(self, obj, **kwargs):
            return ','.join(obj)

    try:
        dump(['a', 'b'], tmp_path / 'x.txt1')
        assert load(tmp_path / 'x.txt1') == ['a', 'b']
        assert dump(['c'], file_format='txt2') == 'c'
    finally:
        file_handlers.pop('txt1')
        file_handlers.pop('txt2')
    with pytest.raises(TypeError, match='BaseFileHandler'):
        register_handler('bad')(dict)


def test_handler_path_methods(tmp_path):
    for handler, name in [(JsonHandler(), 'a.json'), (YamlHandler(), 'a.yaml'),
                          (PickleHandler(), 'a.pkl')]:
        path = tmp_path / name
        handler.dump_to_path(OBJ, path)
        assert handler.load_from_path(path) == OBJ
    assert PickleHandler.str_like is False and JsonHandler.str_like is True


def test_dump_replaces_existing_file(tmp_path):
    path = tmp_path / 'out.json'
    dump({'v': 1}, path)
    dump({'v': 2}, path)
    assert load(path) == {'v': 2}
    assert sorted(p.name for p in tmp_path.iterdir()) == ['out.json']  # no temp file left


def test_dump_creates_parent_dirs(tmp_path):
    path = Path(tmp_path) / 'deep' / 'er' / 'o.yaml'
    dump(OBJ, path)
    assert load(path) == OBJ
