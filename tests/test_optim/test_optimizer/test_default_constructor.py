"""DefaultOptimWrapperConstructor: every paramwise option, alone and combined."""
from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapper
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS

BASE_LR, BASE_WD = 0.01, 0.1


class DeformConv2d(nn.Module):
    """Named like mmcv's deformable convolution, with its offset-predicting child."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(2, 2, 1, 1))
        self.conv_offset = nn.Conv2d(2, 2, 1)


class Model(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(2))
        self.conv1 = nn.Conv2d(3, 4, 1)
        self.dwconv = nn.Conv2d(4, 4, 3, groups=4, bias=False)
        self.bn = nn.BatchNorm2d(4)
        self.ln = nn.LayerNorm(4)
        self.fc = nn.Linear(4, 2)
        self.dcn = DeformConv2d()
        self.frozen = nn.Linear(2, 2)
        self.frozen.requires_grad_(False)


TRAINABLE = ['scale', 'conv1.weight', 'conv1.bias', 'dwconv.weight', 'bn.weight', 'bn.bias',
             'ln.weight', 'ln.bias', 'fc.weight', 'fc.bias', 'dcn.weight',
             'dcn.conv_offset.weight', 'dcn.conv_offset.bias']


def _settings(paramwise_cfg: dict | None, model: nn.Module | None = None) -> dict:
    """``{param name: (lr, weight_decay)}`` of the built optimizer's groups."""
    model = model or Model()
    cfg = dict(optimizer=dict(type='SGD', lr=BASE_LR, weight_decay=BASE_WD))
    wrapper = DefaultOptimWrapperConstructor(cfg, paramwise_cfg)(model)
    names = {id(p): n for n, p in model.named_parameters(remove_duplicate=False)}
    return {names[id(p)]: (group['lr'], group['weight_decay'])
            for group in wrapper.param_groups for p in group['params']}


def _expect(lr: dict | None = None, wd: dict | None = None) -> dict:
    """Expected settings: the base ones except for the names given."""
    lr, wd = lr or {}, wd or {}
    expected = {name: (lr.get(name, BASE_LR), wd.get(name, BASE_WD)) for name in TRAINABLE}
    expected.update({'frozen.weight': (BASE_LR, BASE_WD), 'frozen.bias': (BASE_LR, BASE_WD)})
    return expected


def _check(paramwise_cfg: dict, lr: dict | None = None, wd: dict | None = None) -> None:
    settings = _settings(paramwise_cfg)
    expected = _expect(lr, wd)
    assert settings.keys() == expected.keys()
    for name, values in expected.items():
        assert settings[name] == pytest.approx(values), name


def test_without_paramwise_cfg_one_group_with_all_parameters():
    model = Model()
    wrapper = DefaultOptimWrapperConstructor(
        dict(optimizer=dict(type='SGD', lr=BASE_LR)))(model)
    assert len(wrapper.param_groups) == 1
    assert wrapper.param_groups[0]['params'] == list(model.parameters())


def test_lr_mult_and_decay_mult_apply_to_all_trainable():
    _check(dict(lr_mult=0.5), lr={n: 0.005 for n in TRAINABLE})
    _check(dict(decay_mult=2), wd={n: 0.2 for n in TRAINABLE})


def test_bias_lr_mult_skips_norm_and_dcn_offset_biases():
    _check(dict(bias_lr_mult=2), lr={'conv1.bias': 0.02, 'fc.bias': 0.02})


def test_bias_decay_mult_skips_norm_and_dcn_offset_biases():
    _check(dict(bias_decay_mult=0.5), wd={'conv1.bias': 0.05, 'fc.bias': 0.05})


def test_norm_decay_mult_covers_norm_weights_and_biases():
    _check(dict(norm_decay_mult=0), wd={n: 0 for n in ('bn.weight', 'bn.bias', 'ln.weight',
                                                       'ln.bias')})


def test_dwconv_decay_mult_covers_depthwise_convolutions():
    _check(dict(dwconv_decay_mult=0.5), wd={'dwconv.weight': 0.05})


def test_flat_decay_mult_covers_one_dimensional_parameters_except_dcn_offsets():
    flat = ['scale', 'conv1.bias', 'bn.weight', 'bn.bias', 'ln.weight', 'ln.bias', 'fc.bias']
    _check(dict(flat_decay_mult=0), wd={n: 0 for n in flat})


def test_dcn_offset_lr_mult_covers_the_offset_convolution():
    _check(dict(dcn_offset_lr_mult=0.1),
           lr={'dcn.conv_offset.weight': 0.001, 'dcn.conv_offset.bias': 0.001})


def test_combined_options_multiply_and_take_the_first_decay_rule():
    _check(dict(lr_mult=0.5, bias_lr_mult=2, norm_decay_mult=0, bias_decay_mult=0.5,
                flat_decay_mult=0.2),
           lr={**{n: 0.005 for n in TRAINABLE}, 'conv1.bias': 0.01, 'fc.bias': 0.01},
           wd={'bn.weight': 0, 'bn.bias': 0, 'ln.weight': 0, 'ln.bias': 0,
               'conv1.bias': 0.05, 'fc.bias': 0.05, 'scale': 0.02})


def test_custom_keys_win_over_type_rules_and_longest_key_wins():
    _check(dict(bias_lr_mult=2, custom_keys={'conv': dict(lr_mult=2),
                                             'conv1': dict(lr_mult=3, decay_mult=0)}),
           lr={'conv1.weight': 0.03, 'conv1.bias': 0.03, 'dwconv.weight': 0.02,
               'dcn.conv_offset.weight': 0.02, 'dcn.conv_offset.bias': 0.02,
               'fc.bias': 0.02},
           wd={'conv1.weight': 0, 'conv1.bias': 0})


def test_custom_keys_are_copied_into_the_group():
    model = nn.Sequential(nn.Linear(1, 1))
    wrapper = DefaultOptimWrapperConstructor(
        dict(optimizer=dict(type='SGD', lr=BASE_LR)),
        dict(custom_keys={'0.weight': dict(lr_mult=0.5, momentum=0.7)}))(model)
    group = wrapper.param_groups[0]
    assert group['lr'] == pytest.approx(0.005) and group['lr_mult'] == 0.5
    assert group['momentum'] == 0.7


def test_frozen_parameters_get_plain_groups_and_no_log(capsys):
    model = Model()
    wrapper = DefaultOptimWrapperConstructor(
        dict(optimizer=dict(type='SGD', lr=BASE_LR, weight_decay=BASE_WD)),
        dict(lr_mult=0.5))(model)
    frozen = [g for g in wrapper.param_groups if not g['params'][0].requires_grad]
    assert len(frozen) == 2 and all(g['lr'] == BASE_LR for g in frozen)
    out = capsys.readouterr().out
    assert 'paramwise_options -- fc.bias:lr=0.005' in out and 'frozen' not in out


def _shared_model() -> nn.Module:
    shared = nn.Linear(1, 1)
    model = nn.Module()
    model.a = shared
    model.b = nn.Sequential(shared)
    return model


def test_bypass_duplicate_skips_shared_parameters_with_warning():
    cfg = dict(optimizer=dict(type='SGD', lr=BASE_LR))
    with pytest.raises(ValueError, match='more than one parameter group'):
        DefaultOptimWrapperConstructor(cfg, dict(lr_mult=1))(_shared_model())
    with pytest.warns(UserWarning, match='is skipped since bypass_duplicate=True'):
        wrapper = DefaultOptimWrapperConstructor(
            cfg, dict(lr_mult=1, bypass_duplicate=True))(_shared_model())
    assert len(wrapper.param_groups) == 2


def test_wrapper_type_and_arguments_come_from_the_config():
    wrapper = DefaultOptimWrapperConstructor(dict(
        type='AmpOptimWrapper', accumulative_counts=3, dtype='bfloat16',
        optimizer=dict(type='SGD', lr=BASE_LR)))(nn.Linear(1, 1))
    assert type(wrapper).__name__ == 'AmpOptimWrapper' and wrapper._accumulative_counts == 3


def test_invalid_configs_are_rejected():
    opt = dict(type='SGD', lr=BASE_LR)
    with pytest.raises(TypeError, match='optim_wrapper_cfg must be a dict'):
        DefaultOptimWrapperConstructor([opt])
    with pytest.raises(ValueError, match="'optimizer' key"):
        DefaultOptimWrapperConstructor(dict(type='OptimWrapper'))
    with pytest.raises(TypeError, match='paramwise_cfg must be a dict'):
        DefaultOptimWrapperConstructor(dict(optimizer=opt), ['norm_decay_mult'])
    with pytest.raises(TypeError, match='custom_keys'):
        DefaultOptimWrapperConstructor(dict(optimizer=opt), dict(custom_keys=['backbone']))
    with pytest.raises(ValueError, match="no 'weight_decay'"):
        DefaultOptimWrapperConstructor(dict(optimizer=opt), dict(norm_decay_mult=0))
    with pytest.raises(ValueError, match="no 'weight_decay'"):
        DefaultOptimWrapperConstructor(
            dict(optimizer=opt), dict(custom_keys={'a': dict(decay_mult=0)}))
    with pytest.raises(ValueError, match="no 'lr'"):
        DefaultOptimWrapperConstructor(dict(optimizer=dict(type='SGD')), dict(bias_lr_mult=2))


def test_model_wrapper_is_unwrapped():
    mmengine_model = pytest.importorskip('mmengine.model')
    if not hasattr(mmengine_model, 'is_model_wrapper'):
        pytest.skip('mmengine.model.is_model_wrapper is not available yet')
    inner = nn.Sequential(nn.Linear(1, 1), nn.BatchNorm1d(1))
    wrapped = nn.DataParallel(inner)
    wrapper = DefaultOptimWrapperConstructor(
        dict(optimizer=dict(type='SGD', lr=BASE_LR, weight_decay=BASE_WD)),
        dict(custom_keys={'0.weight': dict(lr_mult=0)}))(wrapped)
    assert wrapper.param_groups[0]['lr'] == 0  # matched '0.weight', not 'module.0.weight'


def test_subclass_overriding_add_params_is_used():
    @OPTIM_WRAPPER_CONSTRUCTORS.register_module(force=True)
    class HalveEachLevel(DefaultOptimWrapperConstructor):
        def add_params(self, params, module, prefix='', lr=None):
            lr = self.base_lr if lr is None else lr
            for param in module.parameters(recurse=False):
                params.append({'params': [param], 'lr': lr})
            for child in module.children():
                self.add_params(params, child, lr=lr / 2)

    from mmengine.optim import build_optim_wrapper
    model = nn.Sequential(nn.Sequential(nn.Linear(1, 1)), nn.Linear(1, 1))
    wrapper = build_optim_wrapper(model, dict(constructor='HalveEachLevel',
                                              optimizer=dict(type='SGD', lr=0.08),
                                              paramwise_cfg=dict(any_key=1)))
    assert isinstance(wrapper, OptimWrapper)
    assert wrapper.get_lr() == {'lr': [0.02, 0.02, 0.04, 0.04]}
