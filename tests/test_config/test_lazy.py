from __future__ import annotations

import copy
import os
import pickle

import pytest
import torch

from mmengine.config import Config, ConfigDict, read_base
from mmengine.config.lazy import LazyAttr, LazyObject
from mmengine.config.utils import ConfigParsingError, ImportTransformer, RemoveAssignFromAST

from ._helpers import DATA, write


def test_lazy_object_and_attr_build_on_demand():
    sgd = LazyObject('torch.optim', 'SGD', location='cfg.py, line 1')
    assert sgd.build() is torch.optim.SGD
    assert str(sgd) == 'SGD' and sgd.module == 'torch.optim'
    attr = LazyObject('torch').nn.ReLU
    assert isinstance(attr, LazyAttr) and attr.module == 'torch.nn'
    assert attr.build() is torch.nn.ReLU
    assert LazyObject(['os.path']).build() is os
    assert LazyObject('torch', 'nn').build() is torch.nn
    copied = pickle.loads(pickle.dumps(attr))
    assert copied.build() is torch.nn.ReLU and copy.deepcopy(sgd) == sgd


def test_lazy_object_errors_name_the_location():
    with pytest.raises(ImportError, match=r"'no_such_mod_xyz' \(imported at c\.py, line 3\)"):
        LazyObject('no_such_mod_xyz', 'X', 'c.py, line 3').build()
    with pytest.raises(AttributeError, match="'torch.nn' has no attribute 'Nope'"):
        LazyObject('torch').nn.Nope.build()
    with pytest.raises(RuntimeError, match='cannot be called while the config is read'):
        LazyObject('torch.optim', 'SGD')(lr=1)


def test_read_base_config_with_lazy_imports():
    cfg = Config.fromfile(DATA / 'lazy' / 'lazy_child.py')
    assert cfg.model.layers == 4 and cfg.model.type == 'ToyModel'
    assert cfg.model.act.type is torch.nn.ReLU
    assert cfg.optim_wrapper.optimizer.type is torch.optim.SGD
    assert cfg.optim_wrapper.clip.type is torch.nn.utils.clip_grad_norm_
    raw = dict.__getitem__(cfg.optim_wrapper.optimizer, 'type')
    assert isinstance(raw, LazyObject)
    assert set(cfg.to_dict()) == {'model', 'work_dir', 'optim_wrapper'}
    assert {'SGD', 'nn', 'ReLU'} <= set(cfg.to_dict(keep_imported=True))
    assert cfg.work_dir == 'work_dirs/lazy_child'


def test_lazy_config_dump_round_trip():
    cfg = Config.fromfile(DATA / 'lazy' / 'lazy_child.py')
    text = cfg.pretty_text
    assert 'from torch.optim import SGD' in text and 'import torch.nn\n' in text
    assert 'clip=dict(type=torch.nn.utils.clip_grad_norm_)' in text
    cfg.dump('dumped.py')
    loaded = Config.fromfile('dumped.py')
    assert loaded.to_dict() == cfg.to_dict()


def test_lazy_import_false_imports_for_real():
    write('eager.py', 'from torch.optim import SGD\nopt = dict(type=SGD)\n')
    eager = Config.fromfile('eager.py', lazy_import=False)
    assert dict.__getitem__(eager.opt, 'type') is torch.optim.SGD
    assert 'SGD' not in eager
    lazy = Config.fromfile('eager.py')
    assert isinstance(dict.__getitem__(lazy.opt, 'type'), LazyObject)
    assert lazy.opt.type is torch.optim.SGD


def test_named_base_imports_and_aliases():
    write('base.py', "a = dict(x=1)\nb = 2\n_hidden = 3\n")
    write('child.py', '''
        from mmengine.config import read_base

        with read_base():
            from .base import a, b as bee

        a.y = bee
    ''')
    cfg = Config.fromfile('child.py')
    assert cfg.to_dict() == {'a': {'x': 1, 'y': 2}, 'bee': 2}


def test_base_in_parent_directory_and_three_levels():
    write('configs/_base_/root.py', "model = dict(depth=1)\n")
    write('configs/_base_/mid.py', '''
        from mmengine.config import read_base
        with read_base():
            from .root import *
        model.depth = model.depth + 1
    ''')
    write('configs/exp/top.py', '''
        from mmengine.config import read_base
        with read_base():
            from .._base_.mid import *
        model.update(width=8)
    ''')
    cfg = Config.fromfile('configs/exp/top.py')
    assert cfg.to_dict() == {'model': {'depth': 2, 'width': 8}}


def test_lazy_config_errors_name_the_file():
    write('base_a.py', 'x = 1\n')
    write('base_b.py', 'x = 2\n')
    write('dup.py', 'from mmengine.config import read_base\nwith read_base():\n'
                    '    from .base_a import *\n    from .base_b import *\n')
    with pytest.raises(KeyError, match=r"Duplicate key 'x'.*dup\.py"):
        Config.fromfile('dup.py')
    write('missing.py', 'from mmengine.config import read_base\nwith read_base():\n'
                        '    from .nowhere import *\n')
    with pytest.raises(FileNotFoundError, match=r"missing\.py \(line 3\).*'\.nowhere'"):
        Config.fromfile('missing.py')
    write('mixed.py', "_base_ = 'base_a.py'\nfrom mmengine.config import read_base\n"
                      "with read_base():\n    from .base_a import *\n")
    with pytest.raises(ConfigParsingError, match=r'mixed\.py mixes `_base_'):
        Config.fromfile('mixed.py')
    write('other_with.py', 'import torch\nwith open("x") as f:\n    pass\n')
    with pytest.raises(ConfigParsingError, match=r'other_with\.py, line 2: only'):
        Config.fromfile('other_with.py')
    write('star.py', 'from torch.nn import *\n')
    with pytest.raises(ConfigParsingError, match=r'star\.py, line 1'):
        Config.fromfile('star.py')


def test_read_base_is_a_no_op_context_manager():
    with read_base():
        value = 1
    assert value == 1


def test_configdict_lazy_flag_keeps_values_unbuilt():
    cfg = ConfigDict(t=LazyObject('torch.optim', 'SGD'))
    ConfigDict.lazy = True
    try:
        assert isinstance(cfg.t, LazyObject)
    finally:
        ConfigDict.lazy = False
    assert cfg.t is torch.optim.SGD


def test_ast_helpers():
    import ast
    tree = RemoveAssignFromAST('_base_').visit(ast.parse("_base_ = 'a.py'\nb = 1\n"))
    assert ast.unparse(tree) == 'b = 1'
    namespace: dict = {}
    transformer = ImportTransformer(namespace, filename='f.py')
    tree = transformer.visit(ast.parse('import os\nfrom torch import nn as tnn\n'))
    assert transformer.imported_names == {'os', 'tnn'}
    assert 'tnn = __LazyObject__(' in ast.unparse(tree) and 'import os' in ast.unparse(tree)
