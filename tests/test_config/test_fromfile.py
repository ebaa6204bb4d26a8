from __future__ import annotations

import sys

import pytest

from mmengine.config import Config
from mmengine.config.utils import ConfigParsingError

from ._helpers import DATA, write


@pytest.mark.parametrize('ext', ['.py', '.json', '.yaml', '.yml'])
def test_fromfile_reads_each_format(ext):
    text = {
        '.py': "model = dict(type='Toy', sizes=[1, 2])\nname = 'x'\n",
        '.json': '{"model": {"type": "Toy", "sizes": [1, 2]}, "name": "x"}',
        '.yaml': 'model:\n  type: Toy\n  sizes: [1, 2]\nname: x\n',
        '.yml': 'model: {type: Toy, sizes: [1, 2]}\nname: x\n',
    }[ext]
    cfg = Config.fromfile(write(f'cfg{ext}', text))
    assert cfg.to_dict() == {'model': {'type': 'Toy', 'sizes': [1, 2]}, 'name': 'x'}
    assert cfg.filename.endswith(f'cfg{ext}')
    assert cfg.model.type == 'Toy'


@pytest.mark.parametrize('ext', ['.py', '.json', '.yaml'])
def test_fromstring_reads_each_format(ext):
    text = {'.py': 'a = dict(b=1)', '.json': '{"a": {"b": 1}}', '.yaml': 'a:\n  b: 1\n'}[ext]
    cfg = Config.fromstring(text, ext)
    assert cfg.a.b == 1
    assert cfg.text == text


def test_fromstring_rejects_unknown_format():
    with pytest.raises(OSError, match='file_format must be one of'):
        Config.fromstring('a = 1', '.toml')


def test_py_config_keeps_values_and_drops_modules_functions_private_and_imported_names():
    path = write('cfg.py', '''
        import os
        from collections import OrderedDict

        def helper(x):
            return x * 2

        class Local:
            pass

        _private = 3
        size = helper(_private)
        root = os.path.join('a', 'b')
        kind = OrderedDict
        local_cls = Local
    ''')
    cfg = Config.fromfile(path)
    assert set(cfg.keys()) == {'size', 'root', 'kind', 'local_cls', 'Local'}
    assert cfg.size == 6 and cfg.root == 'a/b'
    assert cfg.kind.__name__ == 'OrderedDict'


def test_constructor_and_delegated_access():
    cfg = Config(dict(a=dict(b=1), c=[1]), filename='x.py')
    assert cfg['a'] == {'b': 1} and cfg.get('c') == [1] and cfg.get('z', 0) == 0
    assert 'a' in cfg and len(cfg) == 2 and list(cfg) == ['a', 'c']
    cfg.d = dict(e=2)
    cfg['f'] = 3
    assert cfg.d.e == 2 and cfg.f == 3 and cfg.filename == 'x.py'
    assert cfg.env_variables == {} and cfg.text == ''
    with pytest.raises(KeyError, match="'filename' is a reserved name"):
        Config(dict(filename=1))
    with pytest.raises(TypeError, match='cfg_dict must be a dict'):
        Config([1, 2])  # type: ignore[arg-type]
    with pytest.raises(AttributeError, match="no attribute 'missing'"):
        cfg.missing  # noqa: B018


def test_inheritance_three_deep_with_delete_and_base_references():
    cfg = Config.fromfile(DATA / 'level3.py')
    assert cfg.model.to_dict() == {'type': 'ToyModel', 'layers': 3, 'act': {'type': 'GELU'},
                                   'width': 48}
    assert cfg.optimizer.to_dict() == {'type': 'SGD', 'lr': 0.01, 'momentum': 0.95}
    assert cfg.work_dir == 'work_dirs/level2'
    assert cfg.schedule[1].type == 'Cosine'
    assert cfg.train_dataloader.dataset.size == 64
    assert cfg.depth == 3 and cfg.batch_size == 8 and cfg.run_name == 'run-SGD'
    for name in ('level1.py', 'level2.py', 'data.yaml', 'level3.py'):
        assert name in cfg.text
    assert '_base_' not in cfg and '_delete_' not in str(cfg.to_dict())


def test_base_may_be_a_list_and_bases_of_other_formats():
    write('base.yaml', 'a: 1\nnested: {x: 1, y: 2}\n')
    write('base2.json', '{"b": [1, 2]}')
    write('child.json', '{"_base_": ["base.yaml", "base2.json"], "nested": {"y": 3}}')
    cfg = Config.fromfile('child.json')
    assert cfg.to_dict() == {'a': 1, 'nested': {'x': 1, 'y': 3}, 'b': [1, 2]}


def test_base_reference_substitution_in_yaml_and_json():
    write('base.py', "model = dict(layers=[1, 2])\nname = 'toy'\n")
    write('child.yaml', '_base_: base.py\nlayers: {{_base_.model.layers}}\n'
                        'first: {{ _base_.model.layers.0 }}\ntag: run-{{_base_.name}}\n')
    write('child.json', '{"_base_": "base.py", "layers": {{_base_.model.layers}}, '
                        '"tag": "run-{{_base_.name}}"}')
    assert Config.fromfile('child.yaml').to_dict() == {
        'model': {'layers': [1, 2]}, 'name': 'toy', 'layers': [1, 2], 'first': 1,
        'tag': 'run-toy'}
    assert Config.fromfile('child.json').tag == 'run-toy'


def test_dict_in_child_cannot_merge_into_non_dict_without_delete():
    write('base.py', 'a = 1\n')
    write('bad.py', "_base_ = 'base.py'\na = dict(x=1)\n")
    write('good.py', "_base_ = 'base.py'\na = dict(_delete_=True, x=1)\n")
    with pytest.raises(TypeError, match='Set `_delete_=True`'):
        Config.fromfile('bad.py')
    assert Config.fromfile('good.py').a == {'x': 1}


def test_rebinding_a_base_value_in_python():
    write('base.py', "model = dict(type='A', depth=2)\nsizes = [1, 2]\n")
    write('child.py', '''
        _base_ = 'base.py'
        model = _base_.model
        model.depth = 4
        sizes = _base_.sizes + [3]
    ''')
    cfg = Config.fromfile('child.py')
    assert cfg.model.to_dict() == {'type': 'A', 'depth': 4}
    assert cfg.sizes == [1, 2, 3]


def test_predefined_variables(tmp_path):
    path = write('sub/my.cfg.py', '''
        dirname = '{{ fileDirname }}'
        basename = '{{fileBasename}}'
        stem = '{{ fileBasenameNoExtension }}'
        ext = '{{ fileExtname }}'
    ''')
    cfg = Config.fromfile(path)
    assert cfg.dirname == str(tmp_path / 'sub')
    assert (cfg.basename, cfg.stem, cfg.ext) == ('my.cfg.py', 'my.cfg', '.py')
    raw = Config.fromfile(path, use_predefined_variables=False)
    assert raw.dirname == '{{ fileDirname }}'


def test_unknown_predefined_variable_names_it_and_the_file():
    write('cfg.py', "a = 1\nb = '{{ fileDirectory }}'\n")
    with pytest.raises(ValueError, match=r"\{\{ fileDirectory \}\}.*cfg\.py \(line 2\)"):
        Config.fromfile('cfg.py')


def test_environment_variables(monkeypatch):
    monkeypatch.setenv('CFG_TEST_LR', '0.5')
    monkeypatch.delenv('CFG_TEST_UNSET', raising=False)
    write('cfg.py', "lr = {{$CFG_TEST_LR:0.1}}\nroot = '{{ $CFG_TEST_UNSET:/data }}/train'\n")
    cfg = Config.fromfile('cfg.py')
    assert cfg.lr == 0.5 and cfg.root == '/data/train'
    assert cfg.env_variables == {'CFG_TEST_LR': '0.5', 'CFG_TEST_UNSET': '/data'}
    write('yaml.yaml', 'lr: {{$CFG_TEST_LR}}\n')
    assert Config.fromfile('yaml.yaml').lr == 0.5


def test_unset_environment_variable_without_default_names_variable_and_file(monkeypatch):
    monkeypatch.delenv('CFG_TEST_UNSET', raising=False)
    write('env.py', 'a = 1\nb = {{$CFG_TEST_UNSET}}\n')
    with pytest.raises(KeyError, match=r"'CFG_TEST_UNSET'.*env\.py \(line 2\).*not set"):
        Config.fromfile('env.py')


def test_missing_file_and_unsupported_extension():
    with pytest.raises(FileNotFoundError, match="'nope.py' does not exist"):
        Config.fromfile('nope.py')
    write('cfg.txt', 'a = 1')
    with pytest.raises(OSError, match='cfg.txt has an unsupported extension'):
        Config.fromfile('cfg.txt')


def test_syntax_error_names_file_and_line():
    write('broken.py', 'a = 1\nb = dict(\nc = 2\n')
    with pytest.raises(SyntaxError) as info:
        Config.fromfile('broken.py')
    assert info.value.filename.endswith('broken.py') and info.value.lineno == 2


def test_runtime_error_in_config_notes_the_file():
    write('boom.py', 'a = 1\nb = undefined_name\n')
    with pytest.raises(NameError) as info:
        Config.fromfile('boom.py')
    assert any('boom.py' in note for note in info.value.__notes__)


def test_bad_base_values_name_the_file():
    write('missing_base.py', "_base_ = './not_there.py'\n")
    with pytest.raises(FileNotFoundError, match=r"not_there.py'.*base of config file .*"
                                                r"missing_base\.py"):
        Config.fromfile('missing_base.py')
    write('typed_base.py', '_base_ = 3\n')
    with pytest.raises(TypeError, match=r'_base_ in config file .*typed_base\.py must be'):
        Config.fromfile('typed_base.py')
    write('computed_base.py', "_base_ = 'a' + 'b'\n")
    with pytest.raises(TypeError, match=r'computed_base\.py \(line 1\) must be a literal'):
        Config.fromfile('computed_base.py')
    write('cycle_a.py', "_base_ = 'cycle_b.py'\n")
    write('cycle_b.py', "_base_ = 'cycle_a.py'\n")
    with pytest.raises(ConfigParsingError, match='cycle'):
        Config.fromfile('cycle_a.py')


def test_missing_base_reference_names_the_file():
    write('base.py', 'a = 1\n')
    write('child.py', "_base_ = 'base.py'\nb = {{_base_.nothing.here}}\n")
    with pytest.raises(KeyError, match=r'child\.py.*define no .nothing\.here'):
        Config.fromfile('child.py')


def test_duplicate_key_across_bases_names_both_files_and_the_key():
    write('a.py', "model = dict(x=1)\nonly_a = 1\n")
    write('b.py', "model = dict(y=1)\n")
    write('child.py', "_base_ = ['a.py', 'b.py']\n")
    with pytest.raises(KeyError, match=r"Duplicate key 'model'.*a\.py and .*b\.py"):
        Config.fromfile('child.py')


def test_custom_imports_are_imported_at_load_time(tmp_path, monkeypatch):
    write('cfg_test_plugin_mod.py', 'import builtins\nbuiltins._cfg_test_marker = 42\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    write('cfg.py', "custom_imports = dict(imports=['cfg_test_plugin_mod'], "
                    "allow_failed_imports=False)\n")
    try:
        Config.fromfile('cfg.py')
        import builtins
        assert builtins._cfg_test_marker == 42
        assert 'cfg_test_plugin_mod' in sys.modules
    finally:
        sys.modules.pop('cfg_test_plugin_mod', None)
    write('bad.py', "custom_imports = dict(imports=['cfg_test_no_such_mod'])\n")
    with pytest.raises(ImportError, match=r'bad\.py'):
        Config.fromfile('bad.py')
    assert Config.fromfile('bad.py', import_custom_modules=False).custom_imports.imports
    write('allowed.py', "custom_imports = dict(imports=['cfg_test_no_such_mod'], "
                        "allow_failed_imports=True)\n")
    with pytest.warns(UserWarning):
        Config.fromfile('allowed.py')


def test_invalid_data_files_name_the_file():
    write('bad.json', '{"a": 1,,}')
    with pytest.raises(ValueError, match=r'bad\.json is not valid json'):
        Config.fromfile('bad.json')
    write('bad.yaml', 'a: [1, 2\n')
    with pytest.raises(ValueError, match=r'bad\.yaml is not valid yaml'):
        Config.fromfile('bad.yaml')
    write('list.yaml', '- 1\n- 2\n')
    with pytest.raises(TypeError, match=r'list\.yaml must hold a mapping'):
        Config.fromfile('list.yaml')
    write('empty.yaml', '')
    assert len(Config.fromfile('empty.yaml')) == 0


def test_yaml_is_read_safely():
    write('unsafe.yaml', 'a: !!python/object/apply:os.getcwd []\n')
    with pytest.raises(ValueError, match='not valid yaml'):
        Config.fromfile('unsafe.yaml')
