"""The code examples of the tutorial's section 5 (optimizer wrappers), run on CPU.

Examples that call ``.cuda()`` run on CPU here; autocast follows the model's device.
"""
from __future__ import annotations

import re
from collections import OrderedDict

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim import SGD

from mmengine.logging import print_log
from mmengine.optim import (
    AmpOptimWrapper,
    DefaultOptimWrapperConstructor,
    OptimWrapper,
    OptimWrapperDict,
    build_optim_wrapper,
)
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS


def _messages(out: str) -> list[str]:
    """The messages of the INFO lines a logger printed (timestamps stripped)."""
    return [m.group(1) for m in re.finditer(r' - mmengine - INFO - (.*)', out)]


def _data():
    return [torch.zeros(10, 1, 1)] * 10, [torch.ones(10, 1, 1)] * 10


def test_single_precision_loop_matches_the_pytorch_loop():
    inputs, targets = _data()
    torch.manual_seed(0)
    model = nn.Linear(1, 1)
    torch.manual_seed(0)
    reference = nn.Linear(1, 1)
    optimizer = SGD(model.parameters(), lr=0.01)
    optimizer.zero_grad()
    optim_wrapper = OptimWrapper(optimizer=optimizer)
    for input, target in zip(inputs, targets):
        output = model(input)
        loss = F.l1_loss(output, target)
        optim_wrapper.update_params(loss)
    ref_optimizer = SGD(reference.parameters(), lr=0.01)
    for input, target in zip(inputs, targets):
        F.l1_loss(reference(input), target).backward()
        ref_optimizer.step()
        ref_optimizer.zero_grad()
    torch.testing.assert_close(model.bias, reference.bias)
    assert not torch.equal(model.bias, nn.Linear(1, 1).bias)


@pytest.mark.parametrize('accumulative_counts', [1, 2])
def test_amp_loops_with_and_without_accumulation(accumulative_counts):
    inputs, targets = _data()
    torch.manual_seed(0)  # bias starts below the target 1, so every l1 gradient is -1
    model = nn.Linear(1, 1)
    bias = model.bias.item()
    optimizer = SGD(model.parameters(), lr=0.01)
    optim_wrapper = AmpOptimWrapper(optimizer=optimizer,
                                    accumulative_counts=accumulative_counts)
    for input, target in zip(inputs, targets):
        with optim_wrapper.optim_context(model):
            output = model(input)
        loss = F.l1_loss(output, target)
        optim_wrapper.update_params(loss)
    # inputs are zeros: only the bias moves, by lr per update (while output < target)
    updates = 10 // accumulative_counts
    assert model.bias.item() == pytest.approx(bias + 0.01 * updates, abs=1e-6)


def test_fine_grained_interface_loop():
    inputs, targets = _data()
    torch.manual_seed(0)  # bias starts below the target 1, so every l1 gradient is -1
    model = nn.Linear(1, 1)
    bias = model.bias.item()
    optimizer = SGD(model.parameters(), lr=0.01)
    optim_wrapper = AmpOptimWrapper(optimizer=optimizer, accumulative_counts=2)
    for idx, (input, target) in enumerate(zip(inputs, targets)):
        optimizer.zero_grad()
        with optim_wrapper.optim_context(model):
            output = model(input)
        loss = F.l1_loss(output, target)
        optim_wrapper.backward(loss)
        if idx % 2 == 0:
            optim_wrapper.step()
            optim_wrapper.zero_grad()
    # 5 steps, each on one backward of a loss halved by accumulative_counts=2
    assert model.bias.item() == pytest.approx(bias + 5 * 0.005, abs=1e-6)


def test_clip_grad_configs():
    model = nn.Linear(1, 1)
    optimizer = SGD(model.parameters(), lr=0.01)
    by_norm = AmpOptimWrapper(optimizer=optimizer, clip_grad=dict(max_norm=1))
    by_value = AmpOptimWrapper(optimizer=optimizer, clip_grad=dict(clip_value=0.2))
    assert by_norm.clip_func is torch.nn.utils.clip_grad_norm_
    assert by_value.clip_func is torch.nn.utils.clip_grad_value_
    with by_value.optim_context(model):
        loss = model(torch.full((1, 1), 100.0)).sum()
    by_value.backward(loss)
    by_value.loss_scaler.unscale_(optimizer)
    by_value._clip_grad()
    assert model.weight.grad.abs().item() == pytest.approx(0.2)


def test_get_lr_and_momentum():
    model = nn.Linear(1, 1)
    optimizer = SGD(model.parameters(), lr=0.01)
    optim_wrapper = OptimWrapper(optimizer)
    assert optimizer.param_groups[0]['lr'] == 0.01
    assert optimizer.param_groups[0]['momentum'] == 0
    assert optim_wrapper.get_lr() == {'lr': [0.01]}
    assert optim_wrapper.get_momentum() == {'momentum': [0]}
    assert str(optim_wrapper.get_lr()) == "{'lr': [0.01]}"
    assert optim_wrapper.get_lr()['lr'][0] == 0.01
    assert optim_wrapper.get_momentum()['momentum'][0] == 0


def test_export_and_load_state_dicts():
    model = nn.Linear(1, 1)
    optimizer = SGD(model.parameters(), lr=0.01)
    optim_wrapper = OptimWrapper(optimizer=optimizer)
    amp_optim_wrapper = AmpOptimWrapper(optimizer=optimizer)
    optim_state_dict = optim_wrapper.state_dict()
    amp_optim_state_dict = amp_optim_wrapper.state_dict()
    # The tutorial's printout (older torch lists fewer SGD settings; these all appear).
    shown = {'lr': 0.01, 'momentum': 0, 'dampening': 0, 'weight_decay': 0, 'nesterov': False,
             'maximize': False, 'foreach': None, 'params': [0, 1]}
    for state in (optim_state_dict, amp_optim_state_dict):
        assert state['state'] == {}
        assert shown.items() <= state['param_groups'][0].items()
    assert list(amp_optim_state_dict) == ['state', 'param_groups', 'loss_scaler']
    assert str(amp_optim_state_dict['loss_scaler']) == (
        "{'scale': 65536.0, 'growth_factor': 2.0, 'backoff_factor': 0.5, "
        "'growth_interval': 2000, '_growth_tracker': 0}")
    optim_wrapper_new = OptimWrapper(optimizer=optimizer)
    amp_optim_wrapper_new = AmpOptimWrapper(optimizer=optimizer)
    amp_optim_wrapper_new.load_state_dict(amp_optim_state_dict)
    optim_wrapper_new.load_state_dict(optim_state_dict)
    assert amp_optim_wrapper_new.state_dict() == amp_optim_state_dict


def test_optim_wrapper_dict_prints_lr_and_momentum(capsys):
    gen = nn.Linear(1, 1)
    disc = nn.Linear(1, 1)
    optim_wapper_gen = OptimWrapper(optimizer=SGD(gen.parameters(), lr=0.01))
    optim_wapper_disc = OptimWrapper(optimizer=SGD(disc.parameters(), lr=0.01))
    optim_dict = OptimWrapperDict(gen=optim_wapper_gen, disc=optim_wapper_disc)
    print(f'lr: {optim_dict.get_lr()}')
    print(f'momentum: {optim_dict.get_momentum()}')
    assert capsys.readouterr().out == (
        "lr: {'gen.lr': [0.01], 'disc.lr': [0.01]}\n"
        "momentum: {'gen.momentum': [0], 'disc.momentum': [0]}\n")


@pytest.mark.parametrize('optim_wrapper, wrapper_type', [
    (dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.01, momentum=0.9,
                                                weight_decay=0.0001)), OptimWrapper),
    (dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0001)),
     OptimWrapper),
    (dict(type='AmpOptimWrapper', accumulative_counts=2,
          optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0001)),
     AmpOptimWrapper),
])
def test_runner_style_configs(optim_wrapper, wrapper_type):
    wrapper = build_optim_wrapper(nn.Linear(1, 1), optim_wrapper)
    assert type(wrapper) is wrapper_type
    assert wrapper.defaults['momentum'] == 0.9 and wrapper.defaults['weight_decay'] == 0.0001


def test_pytorch_param_groups_example(capsys):
    model = nn.ModuleDict(dict(backbone=nn.Linear(1, 1), head=nn.Linear(1, 1)))
    optimizer = SGD([{'params': model.backbone.parameters()},
                     {'params': model.head.parameters(), 'lr': 0.003}], lr=0.01, momentum=0.9)
    assert OptimWrapper(optimizer).get_lr() == {'lr': [0.01, 0.003]}


class ToyModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = nn.ModuleDict(dict(layer0=nn.Linear(1, 1), layer1=nn.Linear(1, 1)))
        self.head = nn.Sequential(OrderedDict(linear=nn.Linear(1, 1), bn=nn.BatchNorm1d(1)))


def test_norm_decay_mult_logs(capsys):
    optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.01, weight_decay=0.0001),
                         paramwise_cfg=dict(norm_decay_mult=0))
    build_optim_wrapper(ToyModel(), optim_wrapper)
    assert _messages(capsys.readouterr().out) == [
        'paramwise_options -- head.bn.weight:weight_decay=0.0',
        'paramwise_options -- head.bn.bias:weight_decay=0.0']


def test_custom_keys_logs(capsys):
    optim_wrapper = dict(
        optimizer=dict(type='SGD', lr=0.01, weight_decay=0.0001),
        paramwise_cfg=dict(custom_keys={'backbone.layer0': dict(lr_mult=0, decay_mult=0),
                                        'backbone': dict(lr_mult=1),
                                        'head': dict(lr_mult=0.1)}))
    build_optim_wrapper(ToyModel(), optim_wrapper)
    expected = []
    for name in ('backbone.layer0.weight', 'backbone.layer0.bias'):
        expected += [f'{name}:lr=0.0', f'{name}:weight_decay=0.0', f'{name}:lr_mult=0',
                     f'{name}:decay_mult=0']
    for name in ('backbone.layer1.weight', 'backbone.layer1.bias'):
        expected += [f'{name}:lr=0.01', f'{name}:weight_decay=0.0001', f'{name}:lr_mult=1']
    for name in ('head.linear.weight', 'head.linear.bias', 'head.bn.weight', 'head.bn.bias'):
        expected += [f'{name}:lr=0.001', f'{name}:weight_decay=0.0001', f'{name}:lr_mult=0.1']
    assert _messages(capsys.readouterr().out) == [f'paramwise_options -- {e}'
                                                  for e in expected]
    assert [name for name, _ in ToyModel().named_parameters()] == [
        'backbone.layer0.weight', 'backbone.layer0.bias', 'backbone.layer1.weight',
        'backbone.layer1.bias', 'head.linear.weight', 'head.linear.bias', 'head.bn.weight',
        'head.bn.bias']


def test_layer_decay_constructor(capsys):
    @OPTIM_WRAPPER_CONSTRUCTORS.register_module(force=True)
    class LayerDecayOptimWrapperConstructor(DefaultOptimWrapperConstructor):
        def __init__(self, optim_wrapper_cfg, paramwise_cfg=None):
            super().__init__(optim_wrapper_cfg, paramwise_cfg=None)
            self.decay_factor = paramwise_cfg.get('decay_factor', 0.5)
            super().__init__(optim_wrapper_cfg, paramwise_cfg)

        def add_params(self, params, module, prefix='', lr=None):
            if lr is None:
                lr = self.base_lr
            for name, param in module.named_parameters(recurse=False):
                param_group = dict()
                param_group['params'] = [param]
                param_group['lr'] = lr
                params.append(param_group)
                full_name = f'{prefix}.{name}' if prefix else name
                print_log(f'{full_name} : lr={lr}', logger='current')
            for name, module in module.named_children():  # noqa: B020 - verbatim
                chiled_prefix = f'{prefix}.{name}' if prefix else name
                self.add_params(params, module, chiled_prefix, lr=lr * self.decay_factor)

    class LayerModel(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layer = nn.ModuleDict(dict(linear=nn.Linear(1, 1)))
            self.linear = nn.Linear(1, 1)

    optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.01, weight_decay=0.0001),
                         paramwise_cfg=dict(decay_factor=0.5),
                         constructor='LayerDecayOptimWrapperConstructor')
    optimizer = build_optim_wrapper(LayerModel(), optim_wrapper)
    assert _messages(capsys.readouterr().out) == [
        'layer.linear.weight : lr=0.0025', 'layer.linear.bias : lr=0.0025',
        'linear.weight : lr=0.005', 'linear.bias : lr=0.005']
    assert optimizer.get_lr() == {'lr': [0.0025, 0.0025, 0.005, 0.005]}
