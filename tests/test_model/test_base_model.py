"""BaseModel: parse_losses, the train/val/test steps, data preprocessor handling."""
from __future__ import annotations

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmengine.model import BaseDataPreprocessor, BaseModel, ImgDataPreprocessor
from mmengine.registry import MODELS

from ._helpers import MyAwesomeModel, StandInOptimWrapper, ToyModel, import_or_skip


def test_parse_losses_sums_loss_keys_and_orders_log_vars():
    model = ToyModel()
    a = torch.tensor([1.0, 3.0], requires_grad=True)
    losses = {
        'acc': torch.tensor(0.5),
        'loss_cls': a,                                        # mean -> 2
        'loss_list': [torch.tensor([2.0, 4.0]), torch.tensor(1.0)],  # 3 + 1
    }
    loss, log_vars = model.parse_losses(losses)
    assert float(loss) == 6.0 and loss.requires_grad
    assert list(log_vars) == ['loss', 'acc', 'loss_cls', 'loss_list']
    assert all(isinstance(v, torch.Tensor) and not v.requires_grad for v in log_vars.values())
    assert float(log_vars['acc']) == 0.5 and float(log_vars['loss_list']) == 4.0
    loss.backward()
    assert torch.allclose(a.grad, torch.tensor([0.5, 0.5]))


def test_parse_losses_errors():
    model = ToyModel()
    with pytest.raises(TypeError, match='acc'):
        model.parse_losses({'loss': torch.tensor(1.0), 'acc': 0.5})
    with pytest.raises(ValueError, match='loss'):
        model.parse_losses({'acc': torch.tensor(1.0)})
    with pytest.raises(TypeError, match='dict'):
        model.parse_losses(torch.tensor(1.0))


def _toy_batch():
    torch.manual_seed(0)
    return {'inputs': torch.randn(8, 4), 'data_samples': torch.randn(8, 2)}


def test_train_step_updates_params_inside_optim_context():
    model = ToyModel()
    optim = StandInOptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01))
    batch = _toy_batch()
    expected = F.mse_loss(model.linear(batch['inputs']), batch['data_samples'],
                          reduction='sum')
    before = model.linear.weight.detach().clone()
    log_vars = model.train_step(batch, optim)
    assert list(log_vars) == ['loss']
    assert torch.allclose(log_vars['loss'], expected)
    assert optim.events == ['enter', 'exit', 'update']
    assert not torch.equal(before, model.linear.weight)
    # a few steps decrease the loss
    for _ in range(20):
        last = model.train_step(batch, optim)['loss']
    assert float(last) < float(expected)


def test_val_and_test_step_predict():
    model = ToyModel()
    batch = _toy_batch()
    for step in (model.val_step, model.test_step):
        out = step(batch)
        assert isinstance(out, list) and torch.allclose(out[0], model.linear(batch['inputs']))


class _TupleModel(BaseModel):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(2, 2)

    def forward(self, x, y, mode='tensor'):
        if mode == 'loss':
            return self.fc(x).sum()  # wrong: a tensor, not a dict
        return None                  # wrong: predict handled nowhere


def test_mode_mismatch_errors_name_the_mode():
    model = _TupleModel()
    optim = StandInOptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    batch = (torch.ones(2, 2), torch.ones(2))
    with pytest.raises(TypeError, match="mode='loss'.*dict.*Tensor"):
        model.train_step(batch, optim)
    with pytest.raises(TypeError, match="mode='predict'"):
        model.val_step(batch)
    with pytest.raises(TypeError, match='dict.*list/tuple'):
        model.val_step(torch.ones(2, 2))


def test_data_preprocessor_default_dict_and_module():
    assert type(ToyModel().data_preprocessor) is BaseDataPreprocessor
    model = ToyModel(data_preprocessor=dict(type='ImgDataPreprocessor', mean=[0.0], std=[2.0]))
    assert isinstance(model.data_preprocessor, ImgDataPreprocessor)
    pre = BaseDataPreprocessor()
    assert ToyModel(data_preprocessor=pre).data_preprocessor is pre
    with pytest.raises(TypeError, match='data_preprocessor'):
        ToyModel(data_preprocessor='BaseDataPreprocessor')


def test_to_and_cpu_move_preprocessor_device():
    model = ToyModel()
    assert model.to(torch.float64) is model
    assert model.linear.weight.dtype == torch.float64
    assert model.data_preprocessor.device == torch.device('cpu')
    model.to('meta')
    assert model.data_preprocessor.device == torch.device('meta')
    assert model.linear.weight.device.type == 'meta'
    model.to_empty(device='cpu')
    model.cpu()
    assert model.data_preprocessor.device == torch.device('cpu')
    model.to(device='meta')
    assert model.data_preprocessor.device.type == 'meta'


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
@pytest.mark.gpu
def test_cuda_moves_preprocessor_device():
    model = ToyModel().cuda()
    assert model.data_preprocessor.device.type == 'cuda'
    out = model.val_step(_toy_batch())
    assert out[0].device.type == 'cuda'
    model.cpu()
    assert model.data_preprocessor.device.type == 'cpu'


def test_my_awesome_model_from_tutorial():
    MODELS.register_module(module=MyAwesomeModel, force=True)
    model = MODELS.build(dict(type='MyAwesomeModel', layers=2, activation='relu'))
    optim = StandInOptimWrapper(torch.optim.Adam(model.parameters(), lr=1e-3))
    torch.manual_seed(0)
    data, labels = torch.randn(16, 2), torch.randint(0, 2, (16,))
    batch = [data, labels]  # default_collate of (data, label) pairs gives a list
    log_vars = model.train_step(batch, optim)
    assert set(log_vars) == {'loss'} and log_vars['loss'].ndim == 0
    scores, gt = model.val_step(batch)
    assert scores.shape == (16, 2) and torch.allclose(scores.sum(1), torch.ones(16))
    assert torch.equal(gt, labels)
    assert model(data, labels, mode='tensor').shape == (16, 2)


def test_train_step_with_real_optim_wrapper():
    optim_module = import_or_skip('mmengine.optim')
    if not hasattr(optim_module, 'OptimWrapper'):
        pytest.skip('mmengine.optim.OptimWrapper not written yet')
    OptimWrapper = optim_module.OptimWrapper
    model = MyAwesomeModel(layers=2)
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    torch.manual_seed(0)
    batch = (torch.randn(16, 2), torch.randint(0, 2, (16,)))
    first = model.train_step(batch, optim)['loss']
    for _ in range(10):
        last = model.train_step(batch, optim)['loss']
    assert float(last) < float(first)
    scores, _ = model.val_step(batch)
    assert scores.shape == (16, 2)


def test_mm_resnet50_from_tutorial():
    torchvision = pytest.importorskip('torchvision')

    class MMResNet50(BaseModel):
        def __init__(self):
            super().__init__()
            self.resnet = torchvision.models.resnet50(num_classes=10)

        def forward(self, imgs, labels, mode):
            x = self.resnet(imgs)
            if mode == 'loss':
                return {'loss': F.cross_entropy(x, labels)}
            elif mode == 'predict':
                return x, labels

    model = MMResNet50()
    optim = StandInOptimWrapper(torch.optim.SGD(model.parameters(), lr=0.001, momentum=0.9))
    batch = [torch.randn(2, 3, 32, 32), torch.tensor([1, 7])]
    log_vars = model.train_step(batch, optim)
    assert list(log_vars) == ['loss']
    x, labels = model.val_step(batch)
    assert x.shape == (2, 10) and torch.equal(labels, batch[1])


def test_a_data_preprocessor_property_of_the_class_is_what_the_steps_use():
    from mmengine.model import BaseDataPreprocessor

    class Tagging(BaseDataPreprocessor):
        def forward(self, data, training=False):
            return {'inputs': data['inputs'] + 100}

    class WithProperty(BaseModel):
        def __init__(self):
            super().__init__()
            self.linear = torch.nn.Linear(1, 1)
            self.tagging = Tagging()

        @property
        def data_preprocessor(self):  # chooses another submodule than the registered one
            return self.tagging

        @data_preprocessor.setter
        def data_preprocessor(self, value):
            pass

        def forward(self, inputs, mode='tensor'):
            return inputs

    model = WithProperty()
    assert model.val_step({'inputs': torch.zeros(1)}).item() == 100
