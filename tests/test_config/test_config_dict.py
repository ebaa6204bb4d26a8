from __future__ import annotations

import copy
import pickle

import pytest

from mmengine.config import ConfigDict
from mmengine.config.lazy import LazyObject


def test_attribute_and_item_access_are_the_same():
    cfg = ConfigDict(model=dict(type='Toy', layers=2))
    assert cfg.model.type == 'Toy'
    assert cfg['model']['layers'] == 2
    cfg.model.layers = 5
    assert cfg['model']['layers'] == 5
    del cfg.model.layers
    assert 'layers' not in cfg.model


def test_nested_dicts_become_configdicts_on_assignment_and_in_sequences():
    cfg = ConfigDict()
    cfg.a = dict(b=dict(c=1))
    cfg['lst'] = [dict(x=1), (dict(y=2), 3)]
    cfg.setdefault('d', dict(e=1))
    cfg.update(f=dict(g=1))
    assert type(cfg.a.b) is ConfigDict
    assert type(cfg.lst) is list and type(cfg.lst[0]) is ConfigDict
    assert type(cfg.lst[1]) is tuple and cfg.lst[1][0].y == 2
    assert cfg.d.e == 1 and cfg.f.g == 1


def test_missing_attribute_names_the_key():
    cfg = ConfigDict(model=dict())
    with pytest.raises(AttributeError, match="no attribute 'optimizer'"):
        cfg.optimizer  # noqa: B018
    assert not hasattr(cfg, 'nothing')
    assert cfg.get('nothing', 3) == 3
    with pytest.raises(AttributeError, match="'items' is a method"):
        cfg.items = 1


def test_update_is_recursive_and_merge_honours_delete():
    cfg = ConfigDict(model=dict(type='A', act=dict(type='ReLU', inplace=True)))
    cfg.update(model=dict(act=dict(inplace=False)))
    assert cfg.model.act == {'type': 'ReLU', 'inplace': False}
    cfg.merge(dict(model=dict(act=dict(_delete_=True, type='GELU'), layers=2)))
    assert cfg.to_dict() == {'model': {'type': 'A', 'act': {'type': 'GELU'}, 'layers': 2}}


def test_to_dict_returns_plain_containers():
    cfg = ConfigDict(a=dict(b=[dict(c=1)], t=(dict(d=2),)))
    plain = cfg.to_dict()
    assert type(plain) is dict and type(plain['a']) is dict
    assert type(plain['a']['b'][0]) is dict and type(plain['a']['t'][0]) is dict
    assert plain == {'a': {'b': [{'c': 1}], 't': ({'d': 2},)}}


def test_copy_deepcopy_and_pickle():
    cfg = ConfigDict(a=dict(b=[1, 2]))
    shallow = cfg.copy()
    deep = copy.deepcopy(cfg)
    cfg.a.b.append(3)
    assert shallow.a.b == [1, 2, 3]
    assert deep.a.b == [1, 2] and type(deep.a) is ConfigDict
    loaded = pickle.loads(pickle.dumps(cfg))
    assert loaded == cfg and type(loaded.a) is ConfigDict
    assert copy.copy(cfg) == cfg


def test_lazy_values_are_built_on_read_but_kept_raw_when_pickled():
    cfg = ConfigDict(fn=LazyObject('os.path', 'join'))
    import os.path
    assert cfg.fn is os.path.join
    assert cfg['fn'] is os.path.join and cfg.get('fn') is os.path.join
    assert dict(cfg)['fn'] is os.path.join
    assert cfg.values()[0] is os.path.join and cfg.items()[0][1] is os.path.join
    assert isinstance(dict.__getitem__(pickle.loads(pickle.dumps(cfg)), 'fn'), LazyObject)


def test_pop_with_missing_key_returns_default():
    cfg = ConfigDict(a=1)
    assert cfg.pop('a') == 1
    assert cfg.pop('a') is None
    assert cfg.pop('a', 7) == 7


def test_key_named_self_is_allowed():
    assert ConfigDict(self=1).self == 1
