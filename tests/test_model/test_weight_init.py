"""Weight initialization: functions, init_cfg combinations, BaseModule.init_weights."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn as nn

from mmengine.logging import MMLogger
from mmengine.model import (
    BaseModule,
    ModuleDict,
    ModuleList,
    PretrainedInit,
    Sequential,
    bias_init_with_prob,
    caffe2_xavier_init,
    constant_init,
    initialize,
    kaiming_init,
    normal_init,
    trunc_normal_init,
    uniform_init,
    xavier_init,
)
from mmengine.registry import WEIGHT_INITIALIZERS

from ._helpers import ListHandler, import_or_skip


def _all(tensor: torch.Tensor, value: float) -> bool:
    return bool(torch.all(tensor == value))


def test_initializers_registered_under_short_names():
    for name in ['Constant', 'Xavier', 'Normal', 'TruncNormal', 'Uniform', 'Kaiming',
                 'Caffe2Xavier', 'Pretrained']:
        assert WEIGHT_INITIALIZERS.get(name) is not None, name
    assert WEIGHT_INITIALIZERS.get('Pretrained') is PretrainedInit


def test_init_functions():
    torch.manual_seed(0)
    conv = nn.Conv2d(3, 16, 3)
    constant_init(conv, 0.5, bias=0.1)
    assert _all(conv.weight, 0.5) and torch.allclose(conv.bias, torch.full((16,), 0.1))
    uniform_init(conv, a=1, b=2, bias=3)
    assert conv.weight.min() >= 1 and conv.weight.max() <= 2 and _all(conv.bias, 3)
    trunc_normal_init(conv, std=5, a=-0.5, b=0.5)
    assert conv.weight.abs().max() <= 0.5 and _all(conv.bias, 0)
    normal_init(conv, mean=10, std=0.01, bias=1)
    assert abs(float(conv.weight.mean()) - 10) < 0.01
    big = nn.Linear(1000, 1000)
    xavier_init(big, gain=1, distribution='uniform')
    bound = math.sqrt(6 / 2000)
    assert big.weight.abs().max() <= bound and big.weight.abs().max() > 0.9 * bound
    kaiming_init(big, mode='fan_in', distribution='normal')
    assert abs(float(big.weight.std()) - math.sqrt(2 / 1000)) < 2e-3
    caffe2_xavier_init(big)
    assert big.weight.abs().max() <= math.sqrt(3 / 1000) + 1e-6  # kaiming_uniform, a=1
    with pytest.raises(ValueError, match='distribution'):
        xavier_init(big, distribution='bad')
    assert 1 / (1 + math.exp(-bias_init_with_prob(0.01))) == pytest.approx(0.01)
    # modules without weight/bias are left alone
    constant_init(nn.ReLU(), 1)


class _Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 1)
        self.fc = nn.Linear(4, 2)
        self.head = nn.Sequential(nn.Linear(2, 2), nn.Conv2d(2, 2, 1))


def test_initialize_layer_selects_classes_and_bases():
    net = _Net()
    initialize(net, dict(type='Constant', layer='Conv2d', val=1, bias=2))
    assert _all(net.conv.weight, 1) and _all(net.conv.bias, 2)
    assert _all(net.head[1].weight, 1)
    assert not _all(net.fc.weight, 1) and not _all(net.head[0].weight, 1)
    # no layer and no override: nothing is touched
    before = net.fc.weight.clone()
    initialize(net, dict(type='Constant', val=7))
    assert torch.equal(net.fc.weight, before)

    class MyConv(nn.Conv2d):  # a direct subclass matches its base's name
        pass

    seq = nn.Sequential(MyConv(1, 1, 1))
    initialize(seq, dict(type='Constant', layer='Conv2d', val=3))
    assert _all(seq[0].weight, 3)


def test_initialize_list_and_override():
    net = _Net()
    init_cfg = [
        dict(type='Constant', layer=['Conv2d', 'Linear'], val=1, bias=0),
        dict(type='Constant', layer='Linear', val=2,
             override=[dict(name='head', type='Constant', val=5, bias=6),
                       dict(name='conv')]),
    ]
    initialize(net, init_cfg)
    assert _all(net.fc.weight, 2)
    # the override applies to every layer of the named submodule, whatever its class
    assert _all(net.head[0].weight, 5) and _all(net.head[1].weight, 5)
    assert _all(net.head[1].bias, 6)
    # a name-only override reuses the outer config (val=2) on the whole submodule
    assert _all(net.conv.weight, 2)
    assert init_cfg[1]['override'][1] == dict(name='conv')  # the config is not mutated


def test_initialize_errors():
    net = _Net()
    with pytest.raises(TypeError):
        initialize(net, 'Constant')
    with pytest.raises(ValueError, match='name'):
        initialize(net, dict(type='Constant', val=1, override=dict(type='Constant', val=1)))
    with pytest.raises(ValueError, match='type'):
        initialize(net, dict(type='Constant', val=1, override=dict(name='fc', val=1)))
    with pytest.raises(RuntimeError, match='missing'):
        initialize(net, dict(type='Constant', val=1, override=dict(name='missing')))
    with pytest.raises(TypeError, match='layer'):
        initialize(net, dict(type='Constant', val=1, layer=3))
    with pytest.raises(KeyError):
        initialize(net, dict(type='NotAnInit'))


class _Block(BaseModule):
    def __init__(self, init_cfg=None) -> None:
        super().__init__(init_cfg)
        self.conv = nn.Conv2d(2, 2, 1)


class _UserInit(nn.Module):
    """A plain module with its own init_weights."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(2, 2)

    def init_weights(self) -> None:
        nn.init.constant_(self.fc.weight, 9.0)


class _Top(BaseModule):
    def __init__(self, init_cfg=None, block_cfg=None) -> None:
        super().__init__(init_cfg)
        self.block = _Block(block_cfg)
        self.user = _UserInit()
        self.fc = nn.Linear(2, 2)
        self.untouched = nn.LayerNorm(2)  # no init_cfg layer matches it


def _capture_log():
    handler = ListHandler()
    MMLogger.get_current_instance().addHandler(handler)
    return handler


def test_base_module_init_weights_children_info_and_idempotence():
    top = _Top(init_cfg=dict(type='Constant', layer='Linear', val=1),
               block_cfg=dict(type='Constant', layer='Conv2d', val=4))
    assert not top.is_init
    handler = _capture_log()
    top.init_weights()
    assert top.is_init and top.block.is_init
    assert _all(top.fc.weight, 1) and _all(top.block.conv.weight, 4)
    assert _all(top.user.fc.weight, 9)  # the child's own init_weights ran after init_cfg
    table = '\n'.join(handler.messages)
    assert 'fc.weight - (2, 2)' in table
    assert 'ConstantInit: val=1' in table
    assert 'block.conv.weight - (2, 2, 1, 1)' in table and 'ConstantInit: val=4' in table
    assert 'user-defined `init_weights` in _UserInit' in table
    assert 'The value is the same before and after' in table  # untouched.weight
    assert not any(hasattr(m, '_params_init_info') for m in top.modules())
    # a second call warns and changes nothing
    nn.init.constant_(top.fc.weight, 0.0)
    with pytest.warns(UserWarning, match='more than once'):
        top.init_weights()
    assert _all(top.fc.weight, 0)


def test_containers_take_init_cfg():
    seq = Sequential(nn.Linear(2, 2), nn.Linear(2, 3),
                     init_cfg=dict(type='Constant', layer='Linear', val=2))
    mlist = ModuleList([nn.Linear(2, 2)], init_cfg=dict(type='Constant', layer='Linear', val=3))
    mdict = ModuleDict({'a': nn.Linear(2, 2)},
                       init_cfg=dict(type='Constant', layer='Linear', val=4))
    for container, value in [(seq, 2), (mlist, 3), (mdict, 4)]:
        container.init_weights()
        assert all(_all(m.weight, value) for m in container.modules()
                   if isinstance(m, nn.Linear))
    assert len(seq) == 2 and seq(torch.ones(1, 2)).shape == (1, 3)
    assert 'init_cfg' in repr(seq)


def _pretrained_source(path: str) -> _Top:
    source = _Top()
    for i, param in enumerate(source.parameters()):
        nn.init.constant_(param, float(i + 1))
    torch.save(source.state_dict(), path)
    return source


def test_saved_state_dict_loads_back(tmp_path):
    """The path Pretrained takes, by hand: torch.save a state dict, load it safely."""
    path = str(tmp_path / 'w.pth')
    source = _pretrained_source(path)
    target = _Top()
    state = torch.load(path, map_location='cpu', weights_only=True)
    target.load_state_dict(state)
    for a, b in zip(source.parameters(), target.parameters()):
        assert torch.equal(a, b)


def test_pretrained_init_cfg_loads_after_children(tmp_path):
    import_or_skip('mmengine.runner.checkpoint')
    path = str(tmp_path / 'w.pth')
    source = _pretrained_source(path)
    # The block's own Constant init runs first; Pretrained then overwrites everything.
    top = _Top(init_cfg=[dict(type='Constant', layer='Linear', val=-1),
                         dict(type='Pretrained', checkpoint=path)],
               block_cfg=dict(type='Constant', layer='Conv2d', val=-2))
    handler = _capture_log()
    top.init_weights()
    for a, b in zip(source.parameters(), top.parameters()):
        assert torch.equal(a, b)
    assert f'PretrainedInit: load from {path}' in '\n'.join(handler.messages)
    # prefix: load the block alone from the whole model's checkpoint
    block = _Block(init_cfg=dict(type='Pretrained', checkpoint=path, prefix='block.'))
    block.init_weights()
    assert torch.equal(block.conv.weight, source.block.conv.weight)
