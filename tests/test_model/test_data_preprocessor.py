"""Data preprocessors: nested casting, image normalization/padding, stack_batch, MixUp."""
from __future__ import annotations

from collections import namedtuple

import pytest
import torch
import torch.nn.functional as F

from mmengine.model import BaseDataPreprocessor, ImgDataPreprocessor, stack_batch
from mmengine.structures.base_data_element import BaseDataElement

Pair = namedtuple('Pair', ['a', 'b'])


class _SpyTensor(torch.Tensor):
    """Records the arguments of ``.to`` calls."""

    calls: list = []

    def to(self, *args, **kwargs):
        _SpyTensor.calls.append((args, kwargs))
        return super().to(*args, **kwargs)


def test_cast_data_keeps_nested_structure_and_moves_tensors():
    pre = BaseDataPreprocessor()
    pre.to('meta')
    assert pre.device == torch.device('meta')
    sample = BaseDataElement(metainfo=dict(id=3), label=torch.tensor([1]))
    data = {
        'inputs': [torch.ones(2), (torch.zeros(1), 'text')],
        'pair': Pair(torch.ones(1), 5),
        'data_samples': [sample],
        'meta': {'name': 'x', 'value': None},
    }
    out = pre(data, training=True)
    assert set(out) == set(data)
    assert isinstance(out['inputs'], list) and isinstance(out['inputs'][1], tuple)
    assert out['inputs'][0].device.type == 'meta' and out['inputs'][1][0].device.type == 'meta'
    assert out['inputs'][1][1] == 'text'
    assert isinstance(out['pair'], Pair) and out['pair'].a.is_meta and out['pair'].b == 5
    moved = out['data_samples'][0]
    assert isinstance(moved, BaseDataElement) and moved.label.is_meta
    assert moved.metainfo['id'] == 3
    assert out['meta'] == {'name': 'x', 'value': None}
    assert data['inputs'][0].device.type == 'cpu'  # the input batch is not modified


def test_cast_data_tuple_batch_and_non_blocking():
    pre = BaseDataPreprocessor(non_blocking=True)
    _SpyTensor.calls = []
    x = torch.ones(2).as_subclass(_SpyTensor)
    out = pre((x, torch.tensor([1])))
    assert isinstance(out, tuple) and len(out) == 2
    assert _SpyTensor.calls[0][1] == {'non_blocking': True}
    assert pre(None) is None and pre('s') == 's'


def test_img_preprocessor_stacked_uint8_hand_computed():
    mean, std = [10.0, 20.0, 30.0], [2.0, 4.0, 5.0]
    pre = ImgDataPreprocessor(mean=mean, std=std, pad_size_divisor=4, pad_value=-1,
                              bgr_to_rgb=True)
    torch.manual_seed(0)
    imgs = torch.randint(0, 256, (2, 3, 5, 6), dtype=torch.uint8)
    out = pre({'inputs': imgs})
    result = out['inputs']
    assert out['data_samples'] is None
    assert result.dtype == torch.float32 and result.shape == (2, 3, 8, 8)
    for c in range(3):  # channel c of the output is input channel 2 - c, normalized
        expected = (imgs[:, 2 - c].float() - mean[c]) / std[c]
        assert torch.allclose(result[:, c, :5, :6], expected)
    assert torch.all(result[:, :, 5:, :] == -1) and torch.all(result[:, :, :, 6:] == -1)


def test_img_preprocessor_list_of_different_sizes():
    pre = ImgDataPreprocessor(mean=[1.0], std=[2.0], pad_size_divisor=8, rgb_to_bgr=False)
    a = torch.full((1, 3, 5), 5, dtype=torch.uint8)
    b = torch.full((1, 9, 2), 9, dtype=torch.uint8)
    out = pre({'inputs': [a, b], 'data_samples': ['s0', 's1']})
    result = out['inputs']
    assert result.shape == (2, 1, 16, 8)
    assert torch.all(result[0, :, :3, :5] == 2.0) and torch.all(result[0, :, 3:, :] == 0)
    assert torch.all(result[1, :, :9, :2] == 4.0) and torch.all(result[1, :, :, 2:] == 0)
    assert out['data_samples'] == ['s0', 's1']
    same = pre({'inputs': [a, a]})['inputs']  # equal sizes take the batched path
    assert same.shape == (2, 1, 8, 8) and torch.all(same[:, :, :3, :5] == 2.0)


def test_img_preprocessor_moves_uint8_then_converts():
    """The copy to the device carries uint8; float conversion happens after."""
    pre = ImgDataPreprocessor(mean=[0.0, 0.0, 0.0], std=[1.0, 1.0, 1.0])
    _SpyTensor.calls = []
    imgs = torch.zeros(1, 3, 2, 2, dtype=torch.uint8).as_subclass(_SpyTensor)
    pre({'inputs': imgs})
    device_moves = [c for c in _SpyTensor.calls if c[0] and isinstance(c[0][0], torch.device)]
    assert device_moves, 'cast_data must move the uint8 tensor with .to(device)'


def test_img_preprocessor_errors():
    with pytest.raises(ValueError, match='both'):
        ImgDataPreprocessor(bgr_to_rgb=True, rgb_to_bgr=True)
    with pytest.raises(ValueError, match='mean and std'):
        ImgDataPreprocessor(mean=[1.0])
    pre = ImgDataPreprocessor(mean=[1.0, 2.0, 3.0], std=[1.0, 1.0, 1.0])
    with pytest.raises(TypeError, match='inputs'):
        pre({'inputs': torch.zeros(3, 4, 4)})
    with pytest.raises(TypeError, match='"inputs"'):
        pre([torch.zeros(1, 3, 4, 4)])
    with pytest.raises(ValueError, match='channels'):
        pre({'inputs': torch.zeros(1, 2, 4, 4)})
    assert 'mean' not in pre.state_dict()  # mean/std are not saved with the model


def test_stack_batch():
    t1, t2 = torch.ones(3, 5, 7), torch.ones(3, 6, 4)
    out = stack_batch([t1, t2], pad_size_divisor=4, pad_value=2)
    assert out.shape == (2, 3, 8, 8)
    assert torch.all(out[0, :, :5, :7] == 1) and torch.all(out[0, :, 5:] == 2)
    assert torch.all(out[1, :, :, 4:] == 2)
    assert torch.equal(stack_batch([t1, t1]), torch.stack([t1, t1]))
    with pytest.raises(TypeError):
        stack_batch(t1)
    with pytest.raises(ValueError, match='same rank'):
        stack_batch([t1, torch.ones(2, 5, 7)])


class MixUpDataPreprocessor(BaseDataPreprocessor):
    """The tutorial's batch-augmentation example, written out correctly."""

    def __init__(self, num_classes: int, alpha: float) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.alpha = alpha

    def forward(self, data, training=False):
        img, label = self.cast_data(data)
        if not training:  # no MixUp at validation time
            return img, label
        onehot = F.one_hot(label, self.num_classes).float()
        index = torch.randperm(len(label), device=img.device)
        lam = float(torch.distributions.Beta(self.alpha, self.alpha).sample())
        img = lam * img + (1 - lam) * img[index]
        onehot = lam * onehot + (1 - lam) * onehot[index]
        return img, onehot


def test_mixup_preprocessor_example():
    torch.manual_seed(0)
    pre = MixUpDataPreprocessor(num_classes=3, alpha=0.5)
    img, label = torch.randn(4, 2), torch.tensor([0, 1, 2, 1])
    val_img, val_label = pre((img, label), training=False)
    assert torch.equal(val_img, img) and torch.equal(val_label, label)
    mixed, soft = pre((img, label), training=True)
    assert mixed.shape == img.shape and soft.shape == (4, 3)
    assert torch.allclose(soft.sum(1), torch.ones(4))


def test_cast_data_keeps_tensors_already_on_the_device_and_calls_overrides_for_each_item():
    pre = BaseDataPreprocessor()
    x, y = torch.ones(2), torch.tensor([1])
    out = pre([x, {'y': y}])
    assert out[0] is x and out[1]['y'] is y  # nothing to move on the CPU: the same tensors
    indexed = BaseDataPreprocessor().to('cpu:0')  # a CPU device that is not torch.device('cpu')
    assert indexed.device == torch.device('cpu', 0)
    out = indexed([x, {'y': y}])
    assert out[0] is x and out[1]['y'] is y and indexed.cast_data(x) is x

    class Doubling(BaseDataPreprocessor):
        def cast_data(self, data):
            if isinstance(data, torch.Tensor):
                return data * 2
            return super().cast_data(data)

    out = Doubling()((x, [y]))
    assert torch.equal(out[0], x * 2) and torch.equal(out[1][0], y * 2)
