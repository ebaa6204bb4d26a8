from __future__ import annotations

import numpy as np
import pytest
import torch

from mmengine.structures import BaseDataElement


def _element():
    return BaseDataElement(metainfo=dict(img_id=1, img_shape=(4, 5)),
                           score=torch.tensor([0.5, 0.2]), name='cat',
                           mask=np.zeros((2, 2)))


def test_metainfo_and_data_fields():
    item = _element()
    assert item.metainfo_keys() == ['img_id', 'img_shape']
    assert item.keys() == ['score', 'name', 'mask']
    assert item.metainfo_values() == [1, (4, 5)]
    assert item.all_keys() == ['img_id', 'img_shape', 'score', 'name', 'mask']
    assert len(item.all_values()) == 5
    assert dict(item.metainfo_items()) == {'img_id': 1, 'img_shape': (4, 5)}
    assert dict(item.items())['name'] == 'cat' and dict(item.all_items())['img_id'] == 1
    assert item.metainfo == {'img_id': 1, 'img_shape': (4, 5)}
    assert item.values()[1] == 'cat'
    item.label = 3
    item['extra'] = 4
    assert item.keys()[-2:] == ['label', 'extra']
    assert 'label' in item and 'img_id' in item and 'nope' not in item
    assert item.get('nope', 7) == 7 and item.get('label') == 3


def test_metainfo_is_deep_copied():
    meta = dict(classes=['a'])
    item = BaseDataElement(metainfo=meta)
    meta['classes'].append('b')
    assert item.classes == ['a']


def test_conflicting_kinds_raise():
    item = _element()
    with pytest.raises(AttributeError, match='already a metainfo field'):
        item.img_id = 2
    with pytest.raises(AttributeError, match='already a data field'):
        item.set_metainfo(dict(score=1))
    with pytest.raises(AttributeError, match='private'):
        item._data_fields = set()
    with pytest.raises(AttributeError, match='private'):
        del item._metainfo_fields
    with pytest.raises(TypeError, match='must be of type'):
        item.set_field('x', 'typed', dtype=int)
    with pytest.raises(TypeError, match='metainfo must be a dict'):
        item.set_metainfo([1])
    with pytest.raises(TypeError, match='data must be a dict'):
        item.set_data([1])


def test_delete_and_pop():
    item = _element()
    del item.name
    assert 'name' not in item and 'name' not in item.keys()
    del item['mask']
    assert item.keys() == ['score']
    assert item.pop('img_id') == 1 and 'img_id' not in item.metainfo_keys()
    assert item.pop('missing', None) is None
    with pytest.raises(KeyError, match='missing'):
        item.pop('missing')
    item.img_id = 5  # after deleting the metainfo field the name may become data
    assert item.keys() == ['score', 'img_id']


def test_update_new_clone():
    item = _element()
    other = BaseDataElement(metainfo=dict(img_id=9), label=1)
    item.update(other)
    assert item.img_id == 9 and item.label == 1
    with pytest.raises(TypeError):
        item.update({'a': 1})
    new = item.new(metainfo=dict(flip=True), extra=2)
    assert type(new) is BaseDataElement
    assert new.keys() == ['extra'] and new.flip and new.img_id == 9
    copied = item.new()
    assert copied.keys() == item.keys() and copied.score is item.score
    cloned = item.clone()
    assert cloned is not item and cloned.score is item.score
    cloned.score = torch.zeros(1)
    assert item.score.shape == (2,)


def test_device_and_type_conversions():
    grad = torch.ones(2, requires_grad=True) * 2
    item = BaseDataElement(metainfo=dict(m=1), t=grad, arr=np.ones(3),
                           nested=BaseDataElement(x=torch.ones(1)))
    det = item.detach()
    assert not det.t.requires_grad and det.m == 1
    as_np = item.numpy()
    assert isinstance(as_np.t, np.ndarray) and isinstance(as_np.nested.x, np.ndarray)
    back = as_np.to_tensor()
    assert isinstance(back.t, torch.Tensor) and isinstance(back.arr, torch.Tensor)
    assert isinstance(back.nested.x, torch.Tensor)
    moved = item.to('cpu', dtype=torch.float64)
    assert moved.t.dtype == torch.float64 and moved.nested.x.dtype == torch.float64
    assert isinstance(moved.arr, np.ndarray)
    assert item.cpu().t.device.type == 'cpu'
    assert item.t.dtype == torch.float32  # conversions return new elements


@pytest.mark.gpu
def test_cuda():
    item = BaseDataElement(t=torch.ones(2)).cuda()
    assert item.t.is_cuda and item.cpu().t.device.type == 'cpu'


def test_to_dict_and_repr():
    item = BaseDataElement(metainfo=dict(img_id=1), nested=BaseDataElement(x=1), y=2)
    assert item.to_dict() == {'img_id': 1, 'nested': {'x': 1}, 'y': 2}
    text = repr(item)
    assert text.startswith('<BaseDataElement(') and 'META INFORMATION' in text
    assert 'img_id: 1' in text and 'DATA FIELDS' in text and 'y: 2' in text
    assert text.index('img_id') < text.index('DATA FIELDS') < text.index('y: 2')


class _Sample(BaseDataElement):
    @property
    def pred(self):
        return self._pred

    @pred.setter
    def pred(self, value):
        self.set_field(value, '_pred', dtype=BaseDataElement)

    @pred.deleter
    def pred(self):
        del self._pred


def test_property_backed_fields():
    sample = _Sample(metainfo=dict(a=1))
    sample.first = 0
    sample.pred = BaseDataElement(v=1)
    assert sample.keys() == ['first', 'pred']
    assert sample.pred.v == 1 and 'pred' in sample
    with pytest.raises(TypeError):
        sample.pred = 3
    del sample.pred
    assert sample.keys() == ['first'] and not hasattr(sample, '_pred')
