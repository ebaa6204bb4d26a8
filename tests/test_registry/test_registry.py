"""Registry: registration, lookup across scopes, building, and error messages."""
from __future__ import annotations

import pytest

from mmengine.registry import (
    MODELS,
    DefaultScope,
    Registry,
    build_from_cfg,
    count_registered_modules,
    init_default_scope,
    traverse_registry_tree,
)


def _toy_registry(name: str = 'toy', scope: str = 'toyscope', parent=None) -> Registry:
    return Registry(name, scope=scope, parent=parent)


def test_register_as_decorator_and_call():
    reg = _toy_registry()

    @reg.register_module()
    class Cat:
        pass

    @reg.register_module(name=['Kitten', 'Kitty'])
    class Small:
        pass

    def meow():
        return 'meow'

    assert reg.register_module(module=meow) is meow
    assert reg.get('Cat') is Cat and reg.get('Kitten') is Small and reg.get('Kitty') is Small
    assert reg.get('meow') is meow
    assert 'Cat' in reg and 'Dog' not in reg
    assert len(reg) == 4


def test_duplicate_name_names_both_objects_and_force_replaces():
    reg = _toy_registry()

    @reg.register_module()
    class Cat:
        pass

    with pytest.raises(KeyError, match=r"'Cat' is already registered.*Cat.*force=True"):
        reg.register_module(name='Cat', module=type('Other', (), {}))
    other = type('Other', (), {})
    reg.register_module(name='Cat', force=True, module=other)
    assert reg.get('Cat') is other


def test_only_classes_and_functions_can_be_registered():
    reg = _toy_registry()
    with pytest.raises(TypeError, match='Only classes and functions'):
        reg.register_module(module=3)
    with pytest.raises(TypeError, match='force must be a bool'):
        reg.register_module(force=1)
    with pytest.raises(TypeError, match='name must be None, a string'):
        reg.register_module(name=5)


def test_build_with_default_args_does_not_mutate_cfg():
    reg = _toy_registry()

    @reg.register_module()
    class Box:
        def __init__(self, size, color='red'):
            self.size, self.color = size, color

    cfg = dict(type='Box', size=3)
    box = reg.build(cfg, default_args=dict(color='blue'))
    assert (box.size, box.color) == (3, 'blue')
    assert cfg == dict(type='Box', size=3)
    # type may be the class itself and may come from default_args
    assert build_from_cfg(dict(size=1), reg, default_args=dict(type=Box)).size == 1


def test_build_errors_keep_type_and_add_context():
    reg = _toy_registry()

    @reg.register_module()
    class Picky:
        def __init__(self, value):
            if value < 0:
                raise ValueError('value must be non-negative')

    with pytest.raises(ValueError, match=r"Picky \(registry 'toy'\): value must be non-neg"):
        reg.build(dict(type='Picky', value=-1))
    with pytest.raises(TypeError, match=r"Picky.*unexpected keyword argument 'valeu'"):
        reg.build(dict(type='Picky', valeu=1))
    with pytest.raises(TypeError, match='must be a dict or ConfigDict'):
        reg.build(['Picky'])
    with pytest.raises(KeyError, match='must contain the key "type"'):
        reg.build(dict(value=1))


def test_missing_key_suggests_close_names_and_how_to_register():
    reg = _toy_registry()

    @reg.register_module()
    class ToyModel:
        pass

    with pytest.raises(KeyError) as info:
        reg.build(dict(type='ToyModle'))
    message = str(info.value)
    assert "'ToyModle' is not registered in registry 'toy' (scope 'toyscope')" in message
    assert "Did you mean 'ToyModel'" in message
    assert 'register_module' in message and 'custom_imports' in message


def test_parent_and_child_scopes():
    parent = Registry('animal', scope='zoo_root')
    child = Registry('animal', scope='zoo_child', parent=parent)

    @parent.register_module()
    class Lion:
        pass

    @child.register_module()
    class Tiger:
        pass

    assert child.get('Lion') is Lion  # falls back to the parent chain
    assert parent.get('zoo_child.Tiger') is Tiger  # scoped name into a child
    assert child.get('zoo_root.Lion') is Lion
    assert parent.get('Tiger') is None
    assert child.root is parent and parent.children == {'zoo_child': child}
    with pytest.raises(KeyError, match='already has a child of scope'):
        Registry('animal', scope='zoo_child', parent=parent)


def test_default_scope_switches_build_registry():
    parent = Registry('widget', scope='ws_root')
    child = Registry('widget', scope='ws_child', parent=parent)

    @child.register_module()
    class OnlyInChild:
        pass

    with pytest.raises(KeyError):
        parent.build(dict(type='OnlyInChild'))
    assert isinstance(parent.build(dict(type='OnlyInChild', _scope_='ws_child')), OnlyInChild)
    init_default_scope('ws_child')
    assert DefaultScope.get_current_instance().scope_name == 'ws_child'
    assert isinstance(parent.build(dict(type='OnlyInChild')), OnlyInChild)


def test_init_default_scope_switches_with_warning():
    init_default_scope('aaa')
    with pytest.warns(UserWarning, match="switching the default scope to 'bbb'"):
        DefaultScope.get_instance('bbb', scope_name='aaa')
        init_default_scope('bbb')
    assert DefaultScope.get_current_instance().scope_name == 'bbb'


def test_dotted_import_path_is_resolved():
    reg = _toy_registry()
    import torch
    assert reg.get('torch.nn.Linear') is torch.nn.Linear
    assert isinstance(reg.build(dict(type='torch.nn.Linear', in_features=2, out_features=1)),
                      torch.nn.Linear)


def test_locations_imported_lazily(tmp_path, monkeypatch):
    pkg = tmp_path / 'lazy_reg_pkg'
    pkg.mkdir()
    (pkg / '__init__.py').write_text(
        'from tests.test_registry.test_registry import LAZY\n'
        '@LAZY.register_module()\nclass Late:\n    pass\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    global LAZY
    LAZY = Registry('lazy', scope='lazyscope', locations=['lazy_reg_pkg'])
    assert not LAZY._imported
    assert LAZY.get('Late').__name__ == 'Late'


def test_repr_lists_names():
    reg = _toy_registry()

    @reg.register_module()
    class Shown:
        pass

    text = repr(reg)
    assert 'Registry of toy' in text and 'Shown' in text


def test_traverse_and_count(tmp_path):
    parent = Registry('thing', scope='tr_root')
    child = Registry('thing', scope='tr_child', parent=parent)
    child.register_module(module=type('A', (), {}))
    tree = traverse_registry_tree(child, verbose=False)
    assert [(t['scope'], t['num_modules']) for t in tree] == [('tr_root', 0), ('tr_child', 1)]
    stats = count_registered_modules(save_path=None, verbose=False)
    assert 'model' in stats['registries'] and stats['scope'] == 'mmengine'


def test_root_registries_have_locations():
    assert MODELS.scope == 'mmengine'
    assert MODELS._locations == ['mmengine.model']
