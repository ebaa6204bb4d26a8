from __future__ import annotations

import pytest

import mmengine.fileio as fileio
from mmengine.fileio import (
    BaseStorageBackend,
    FileClient,
    HardDiskBackend,
    HTTPBackend,
    LmdbBackend,
    LocalBackend,
    MemcachedBackend,
    PetrelBackend,
    get_file_backend,
    register_backend,
)
from mmengine.fileio.backends import FsspecBackend, backends, prefix_to_backends


@pytest.fixture
def clean_registry():
    saved = dict(backends), dict(prefix_to_backends)
    yield
    backends.clear()
    backends.update(saved[0])
    prefix_to_backends.clear()
    prefix_to_backends.update(saved[1])


class DictBackend(BaseStorageBackend):
    store: dict = {}

    def __init__(self, tag: str = 'default'):
        self.tag = tag

    def get(self, filepath):
        return self.store[filepath]

    def get_text(self, filepath, encoding='utf-8'):
        return self.get(filepath).decode(encoding)

    def put(self, obj, filepath):
        self.store[filepath] = obj

    def put_text(self, obj, filepath, encoding='utf-8'):
        self.put(obj.encode(encoding), filepath)


def test_selection_by_prefix():
    assert type(get_file_backend('/a/b')) is LocalBackend
    assert type(get_file_backend('rel/b.txt')) is LocalBackend
    assert type(get_file_backend()) is LocalBackend
    assert type(get_file_backend('http://host/x')) is HTTPBackend
    assert type(get_file_backend('https://host/x')) is HTTPBackend
    for uri in ['s3://bucket/key', 'memory://x', 'gs://b/k', 'cluster:s3://b/k']:
        assert type(get_file_backend(uri)) is FsspecBackend, uri
    with pytest.raises(ValueError, match='no storage backend'):
        get_file_backend('nosuchproto123://x')


def test_selection_by_name_and_singleton():
    assert type(get_file_backend('memory://x', backend_args={'backend': 'local'})) is LocalBackend
    with pytest.raises(ValueError, match='not registered'):
        get_file_backend(backend_args={'backend': 'nope'})
    one = get_file_backend('/x', enable_singleton=True)
    assert get_file_backend('/y', enable_singleton=True) is one
    assert get_file_backend('/y') is not one


def test_register_backend(clean_registry):
    register_backend('dictstore', DictBackend, prefixes='dict')
    fileio.put_text('hello', 'dict://k1')
    assert fileio.get_text('dict://k1') == 'hello'
    backend = get_file_backend(backend_args={'backend': 'dictstore', 'tag': 't'})
    assert isinstance(backend, DictBackend) and backend.tag == 't'
    with pytest.raises(ValueError, match='already registered'):
        register_backend('dictstore', DictBackend)
    with pytest.raises(ValueError, match='already registered'):
        register_backend('other', DictBackend, prefixes='dict')
    register_backend('dictstore', DictBackend, force=True)

    @register_backend('decorated', prefixes=['dec1', 'dec2'])
    class Decorated(DictBackend):
        pass

    assert type(get_file_backend('dec2://x')) is Decorated
    with pytest.raises(TypeError, match='BaseStorageBackend'):
        register_backend('bad', dict)


@pytest.mark.parametrize('cls, args, package', [
    (PetrelBackend, {}, 'petrel_client'),
    (MemcachedBackend, {'server_list_cfg': 'a', 'client_cfg': 'b'}, 'mc'),
    (LmdbBackend, {'db_path': 'db'}, 'lmdb'),
])
def test_optional_backends_need_their_library(cls, args, package):
    try:
        __import__(package)
    except ImportError:
        pass
    else:
        pytest.skip(f'{package} is installed')
    with pytest.raises(ImportError, match='install'):
        cls(**args)


@pytest.mark.filterwarnings('ignore::DeprecationWarning')
def test_file_client_legacy_interface(tmp_path):
    with pytest.warns(DeprecationWarning):
        client = FileClient()
    assert isinstance(client.client, HardDiskBackend) and client.name == 'HardDiskBackend'
    assert FileClient(backend='disk') is client  # one instance per arguments
    client.put_text('x', tmp_path / 'f.txt')
    assert client.get_text(tmp_path / 'f.txt') == 'x' and client.get(tmp_path / 'f.txt') == b'x'
    assert client.exists(tmp_path / 'f.txt') and client.isfile(tmp_path / 'f.txt')
    assert list(client.list_dir_or_file(tmp_path)) == ['f.txt']
    with client.get_local_path(tmp_path / 'f.txt') as local:
        assert local == str(tmp_path / 'f.txt')
    client.remove(tmp_path / 'f.txt')
    assert not client.exists(tmp_path / 'f.txt')
    assert FileClient.parse_uri_prefix('cluster:s3://b') == 's3'
    assert FileClient.parse_uri_prefix('/a') is None
    assert isinstance(FileClient.infer_client(uri='memory://x').client, FsspecBackend)
    assert isinstance(FileClient.infer_client({'backend': 'disk'}).client, HardDiskBackend)
    with pytest.raises(ValueError):
        FileClient(backend='nope')
    with pytest.raises(ValueError):
        FileClient(prefix='nope')


@pytest.mark.filterwarnings('ignore::DeprecationWarning')
def test_load_with_file_client_args(tmp_path):
    fileio.dump({'a': 1}, tmp_path / 'a.json', file_client_args={'backend': 'disk'})
    assert fileio.load(tmp_path / 'a.json', file_client_args={'backend': 'disk'}) == {'a': 1}
    with pytest.raises(ValueError, match='cannot both'):
        fileio.load(tmp_path / 'a.json', file_client_args={}, backend_args={})
