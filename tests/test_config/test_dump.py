from __future__ import annotations

import ast
import copy
import math
import pickle
from collections import OrderedDict

import pytest
import torch

from mmengine.config import Config

from ._helpers import DATA, write

VALUES = dict(
    model=dict(type='Toy', layers=[1, 2, dict(x=None)], ratio=0.5, flag=True),
    name='exp',
    shape=(3, 4),
    empty=dict(),
    nested=dict(a=dict(b=dict(c=dict(d=[1, 2, 3]))), text='quote \' and "double"'),
)


@pytest.mark.parametrize('ext', ['.py', '.json', '.yaml', '.yml'])
def test_dump_and_load_round_trip_in_each_format(ext):
    cfg = Config(copy.deepcopy(VALUES))
    cfg.dump(f'out{ext}')
    loaded = Config.fromfile(f'out{ext}')
    expected = cfg.to_dict()
    if ext != '.py':  # json and yaml have no tuples
        expected['shape'] = [3, 4]
    assert loaded.to_dict() == expected


def test_dump_without_file_returns_text_in_the_config_format():
    write('cfg.yaml', 'a: 1\n')
    assert Config.fromfile('cfg.yaml').dump().strip() == 'a: 1'
    write('cfg.json', '{"a": 1}')
    assert '"a": 1' in Config.fromfile('cfg.json').dump()
    assert Config(dict(a=1)).dump() == 'a = 1\n'


def test_dump_rejects_unknown_extension():
    with pytest.raises(ValueError, match="'out.txt'.*must be one of"):
        Config(dict(a=1)).dump('out.txt')


def test_pretty_text_is_valid_python_and_wraps_long_values():
    cfg = Config(dict(long=dict(name='x' * 30, values=list(range(20)), inner=dict(a=1))))
    text = cfg.pretty_text
    ast.parse(text)
    lines = text.splitlines()
    assert lines[0] == 'long = dict('
    assert lines[1].startswith('    name=') and lines[-1] == ')'
    assert all(len(line) <= 79 for line in lines)
    flat = Config(cfg.to_dict(), format_python_code=False).pretty_text
    assert len(flat.splitlines()) == 1


def test_pretty_text_of_special_values():
    cfg = Config({'inf': float('inf'), 'nan': float('nan'), 'keys': {1: 'a', 'b-c': 2},
                  'single': (1,), 'a set': {2, 1}, 'none': None})
    text = cfg.pretty_text
    ast.parse(text)
    assert "inf = float('inf')" in text and 'single = (1,)' in text
    assert "keys = {1: 'a', 'b-c': 2}" in text
    assert "globals().update({'a set': {1, 2}})" in text
    cfg.dump('special.py')
    loaded = Config.fromfile('special.py')
    assert math.isinf(loaded.inf) and math.isnan(loaded.nan)
    assert loaded['a set'] == {1, 2} and loaded['keys'] == {1: 'a', 'b-c': 2}
    assert loaded.single == (1,) and loaded.none is None


def test_classes_and_functions_are_dumped_as_imports():
    cfg = Config(dict(optimizer=dict(type=torch.optim.SGD, lr=0.1),
                      fn=torch.nn.functional.relu, od=OrderedDict, builtin=dict,
                      dtype=torch.float32))
    text = cfg.pretty_text
    assert 'from torch.optim.sgd import SGD' in text
    assert 'optimizer = dict(type=SGD, lr=0.1)' in text
    assert 'builtin = dict\n' in text and 'dtype = torch.float32' in text
    assert 'import torch\n' in text
    cfg.dump('classes.py')
    loaded = Config.fromfile('classes.py')
    assert loaded.optimizer.type is torch.optim.SGD
    assert loaded.fn is torch.nn.functional.relu
    assert loaded.od is OrderedDict and loaded.builtin is dict
    assert loaded.dtype is torch.float32
    assert loaded.to_dict() == cfg.to_dict()


def test_name_clash_between_import_and_key_is_renamed():
    cfg = Config(dict(SGD='a string', opt=dict(type=torch.optim.SGD)))
    text = cfg.pretty_text
    assert 'from torch.optim.sgd import SGD as SGD_2' in text
    cfg.dump('clash.py')
    loaded = Config.fromfile('clash.py')
    assert loaded.SGD == 'a string' and loaded.opt.type is torch.optim.SGD


def test_classes_cannot_be_dumped_to_data_formats():
    cfg = Config(dict(opt=dict(type=torch.optim.SGD)))
    with pytest.raises(TypeError, match=r"'opt\.type'.*Dump the config to a \.py file"):
        cfg.dump('out.json')


def test_repr_and_print_show_filename_and_text(capsys):
    cfg = Config.fromfile(DATA / 'example_config.py')
    print(cfg)
    out = capsys.readouterr().out
    assert out.startswith(f'Config (path: {cfg.filename}):')
    assert "model = dict(type='MyAwesomeModel', layers=2, activation='relu')" in out


def test_copy_deepcopy_and_pickle_of_config():
    cfg = Config.fromfile(DATA / 'level3.py')
    shallow, deep = copy.copy(cfg), copy.deepcopy(cfg)
    cfg.model.layers = 99
    assert shallow.model.layers == 99 and deep.model.layers == 3
    assert deep.filename == cfg.filename and deep.text == cfg.text
    loaded = pickle.loads(pickle.dumps(cfg))
    assert loaded.to_dict() == cfg.to_dict() and loaded.filename == cfg.filename
    assert cfg.copy().to_dict() == cfg.to_dict()


def test_diff_lists_changed_lines():
    a = Config(dict(a=1, b=2))
    b = Config(dict(a=1, b=3))
    diff = Config.diff(a, b)
    assert '-b = 2' in diff and '+b = 3' in diff and '-a = 1' not in diff
