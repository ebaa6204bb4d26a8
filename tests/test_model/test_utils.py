"""Model utilities, BaseTTAModel, efficient conv-bn eval, is_model_wrapper."""
from __future__ import annotations

import copy

import pytest
import torch
import torch.nn as nn
from torch.nn.parallel import DataParallel, DistributedDataParallel

from mmengine.logging import MMLogger
from mmengine.model import (
    BaseTTAModel,
    ImgDataPreprocessor,
    MMDistributedDataParallel,
    MMSeparateDistributedDataParallel,
    convert_sync_batchnorm,
    detect_anomalous_params,
    is_model_wrapper,
    merge_dict,
    revert_sync_batchnorm,
)
from mmengine.model.efficient_conv_bn_eval import (
    efficient_conv_bn_eval_forward,
    turn_on_efficient_conv_bn_eval,
)
from mmengine.registry import MODEL_WRAPPERS, MODELS, Registry

from ._helpers import ListHandler, ToyModel


def test_merge_dict():
    assert merge_dict({'a': 1, 'b': 2}, {'b': 3}, {'c': 4}) == {'a': 1, 'b': 3, 'c': 4}
    with pytest.raises(TypeError):
        merge_dict({'a': 1}, [('b', 2)])


def test_sync_batchnorm_round_trip():
    model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4),
                          nn.Sequential(nn.BatchNorm1d(4)))
    with torch.no_grad():
        model[1].weight.fill_(2.0)
        model[1].running_mean.fill_(0.5)
    converted = convert_sync_batchnorm(copy.deepcopy(model))
    assert isinstance(converted[1], nn.SyncBatchNorm)
    assert isinstance(converted[2][0], nn.SyncBatchNorm)
    reverted = revert_sync_batchnorm(converted)
    assert not any(isinstance(m, nn.SyncBatchNorm) for m in reverted.modules())
    assert torch.equal(reverted[1].weight, model[1].weight)
    assert torch.equal(reverted[1].running_mean, model[1].running_mean)
    reverted.eval()
    model.eval()
    x = torch.randn(2, 3, 5, 5)
    assert torch.allclose(reverted[:2](x), model[:2](x))
    with pytest.raises(ValueError, match='implementation'):
        convert_sync_batchnorm(model, implementation='other')


def test_detect_anomalous_params_logs_unused():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.used = nn.Linear(2, 2)
            self.unused = nn.Linear(2, 2)
            self.frozen = nn.Linear(2, 2).requires_grad_(False)

    net = Net()
    handler = ListHandler()
    MMLogger.get_current_instance().addHandler(handler)
    loss = net.frozen(net.used(torch.ones(1, 2))).sum()
    missing = detect_anomalous_params(loss, net)
    assert missing == ['unused.weight', 'unused.bias']
    assert any('unused.weight' in m and 'computational graph' in m for m in handler.messages)


def test_is_model_wrapper():
    model = ToyModel()
    assert not is_model_wrapper(model)
    assert not is_model_wrapper(nn.Linear(1, 1))
    assert is_model_wrapper(DataParallel(model))
    for cls in (DistributedDataParallel, MMDistributedDataParallel,
                MMSeparateDistributedDataParallel):
        assert MODEL_WRAPPERS.get(cls.__name__) is cls
    # wrappers registered in a child registry count too
    child = Registry('child wrappers', parent=MODEL_WRAPPERS, scope='child_scope_tests')

    class MyWrapper(nn.Module):
        def __init__(self, module):
            super().__init__()
            self.module = module

    child.register_module(module=MyWrapper)
    assert is_model_wrapper(MyWrapper(model))


def test_fsdp_wrapper_loads_lazily_and_registers():
    from torch.distributed.fsdp import FullyShardedDataParallel

    from mmengine.model import MMFullyShardedDataParallel
    assert issubclass(MMFullyShardedDataParallel, FullyShardedDataParallel)
    assert MODEL_WRAPPERS.get('MMFullyShardedDataParallel') is MMFullyShardedDataParallel
    assert MODEL_WRAPPERS.get('FullyShardedDataParallel') is FullyShardedDataParallel


class _ToyTTA(BaseTTAModel):
    def merge_preds(self, data_samples_list):
        return [torch.stack(views).mean(0) for views in data_samples_list]


def test_tta_model_runs_each_view_and_merges():
    model = ToyModel()
    tta = _ToyTTA(model)
    views = [torch.randn(3, 4), torch.randn(3, 4)]
    data = {'inputs': views, 'data_samples': [None, None]}
    merged = tta.test_step(data)
    expected = (model.linear(views[0]) + model.linear(views[1])) / 2
    assert len(merged) == 1 and torch.allclose(merged[0], expected)
    MODELS.register_module(module=ToyModel, force=True)
    built = _ToyTTA(dict(type='ToyModel'), data_preprocessor=dict(type='ImgDataPreprocessor'))
    assert isinstance(built.module, ToyModel)
    assert isinstance(built.module.data_preprocessor, ImgDataPreprocessor)
    with pytest.raises(TypeError, match='module'):
        _ToyTTA('ToyModel')


def test_efficient_conv_bn_eval_matches_plain_forward():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 4, 3, bias=False), nn.BatchNorm2d(4), nn.ReLU(),
                        nn.Conv2d(4, 4, 1), nn.BatchNorm2d(4))
    with torch.no_grad():
        for bn in (net[1], net[4]):
            bn.running_mean.uniform_(-1, 1)
            bn.running_var.uniform_(0.5, 2)
            bn.weight.uniform_(0.5, 2)
            bn.bias.uniform_(-1, 1)
    x = torch.randn(2, 3, 8, 8)
    holder = nn.Module()
    holder.backbone = net
    net.eval()
    expected = net(x)
    assert torch.allclose(efficient_conv_bn_eval_forward(net[1], net[0], x), net[1](net[0](x)),
                          atol=1e-5)
    turn_on_efficient_conv_bn_eval(holder, 'backbone')
    assert torch.allclose(net(x), expected, atol=1e-5)
    # gradients still reach the conv and bn parameters
    net.eval()
    net(x).sum().backward()
    assert net[0].weight.grad is not None and net[1].weight.grad is not None
    # in training mode the batch statistics are used, as without the transform
    net.train()
    reference = nn.Sequential(*net)  # same layers, the plain forward
    assert torch.allclose(net(x), reference(x), atol=1e-5)
