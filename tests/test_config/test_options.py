from __future__ import annotations

import argparse
import sys

import pytest

from mmengine.config import Config, DictAction
from mmengine.config.config import add_args

from ._helpers import DATA, write


def _parse(*options: str) -> dict:
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(['--cfg-options', *options]).cfg_options


def test_dict_action_parses_scalars():
    assert _parse('a.b=1', 'f=0.5', 'e=1e-3', 't=true', 'F=False', 'n=None', 's=x') == {
        'a.b': 1, 'f': 0.5, 'e': 0.001, 't': True, 'F': False, 'n': None, 's': 'x'}


def test_dict_action_parses_lists_tuples_and_nesting():
    assert _parse('c=[1,2]', 'd=(3,4)', 'e="x,y"', 'g=[(a,b), [1,2], false]',
                  'h=[[1]]', 'i=(1,)', 'j=[]', 'k=()', "l='quoted'") == {
        'c': [1, 2], 'd': (3, 4), 'e': ['x', 'y'], 'g': [('a', 'b'), [1, 2], False],
        'h': [[1]], 'i': (1,), 'j': [], 'k': (), 'l': 'quoted'}


def test_dict_action_keeps_spaces_inside_values_and_equals_after_the_first():
    assert _parse('a=hello world', 'b=x=y', 'c=[1, 2 ]') == {
        'a': 'hello world', 'b': 'x=y', 'c': [1, 2]}


def test_dict_action_accumulates_over_repeated_flags():
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(['--cfg-options', 'a=1', '--cfg-options', 'b=2'])
    assert args.cfg_options == {'a': 1, 'b': 2}


def test_dict_action_rejects_unbalanced_brackets_and_missing_equals(capsys):
    with pytest.raises(ValueError, match='Unbalanced brackets'):
        _parse('a=[(a,b), [1,2], false')
    with pytest.raises(AssertionError):  # compat: MMEngine raises AssertionError
        _parse('a=[1,2))')
    with pytest.raises(SystemExit):
        _parse('no_equals_sign')
    assert 'expects KEY=VALUE' in capsys.readouterr().err


def test_merge_from_dict_with_dotted_keys_and_list_indices():
    cfg = Config(dict(model=dict(layers=2, act=dict(type='ReLU')), list=[dict(x=0), 5]))
    cfg.merge_from_dict({'model.layers': 4, 'list.0.x': 1, 'list.1': 6, 'model.new.deep': 1,
                         'model.act': dict(inplace=True)})
    assert cfg.to_dict() == {
        'model': {'layers': 4, 'act': {'type': 'ReLU', 'inplace': True},
                  'new': {'deep': 1}},
        'list': [{'x': 1}, 6]}
    cfg.merge_from_dict({'model.act': dict(_delete_=True, type='GELU')})
    assert cfg.model.act.to_dict() == {'type': 'GELU'}


def test_merge_from_dict_errors():
    cfg = Config(dict(list=[dict(x=0)], value=1))
    with pytest.raises(KeyError, match='Index 3 of list.3 exceeds'):
        cfg.merge_from_dict({'list.3.x': 1})
    with pytest.raises(TypeError, match='allow_list_keys=True'):
        cfg.merge_from_dict({'list.0.x': 1}, allow_list_keys=False)
    with pytest.raises(TypeError, match='value=.*cannot inherit'):
        cfg.merge_from_dict({'value.x': 1})
    with pytest.raises(ValueError, match="conflicts with option 'a'"):
        cfg.merge_from_dict({'a': 1, 'a.b': 2})


def test_cfg_options_end_to_end():
    cfg = Config.fromfile(DATA / 'example_config.py')
    options = _parse('train_cfg.max_epochs=3', 'param_scheduler.milestones=[1,2]',
                     'model.layers=4')
    cfg.merge_from_dict(options)
    assert cfg.train_cfg.max_epochs == 3 and cfg.model.layers == 4
    assert cfg.param_scheduler.milestones == [1, 2]


def test_add_args_and_auto_argparser(monkeypatch):
    parser = add_args(argparse.ArgumentParser(), dict(a=1, b=dict(c='x', d=True), e=[1.0]))
    args = parser.parse_args(['--a', '3', '--b.c', 'y', '--b.d', '--e', '1', '2'])
    assert vars(args) == {'a': 3, 'b.c': 'y', 'b.d': True, 'e': [1.0, 2.0]}
    path = write('cfg.py', 'lr = 0.1\n')
    monkeypatch.setattr(sys, 'argv', ['prog', str(path), '--lr', '0.5'])
    parser, cfg = Config.auto_argparser('desc')
    assert cfg.lr == 0.1 and parser.parse_args().lr == 0.5
