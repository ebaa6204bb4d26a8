from __future__ import annotations

import numpy as np
import pytest
import torch

from mmengine.structures import InstanceData, LabelData, PixelData


class _Boxes:
    """A custom field type that indexes and concatenates itself."""

    def __init__(self, data):
        self.data = data

    def __len__(self):
        return len(self.data)

    def __getitem__(self, item):
        return _Boxes(self.data[item])

    @classmethod
    def cat(cls, items):
        return cls(torch.cat([b.data for b in items]))


def _instances():
    inst = InstanceData(metainfo=dict(img_id=3))
    inst.scores = torch.tensor([0.1, 0.9, 0.5, 0.7], dtype=torch.float64)
    inst.labels = [0, 1, 2, 3]
    inst.names = ('a', 'b', 'c', 'd')
    inst.arr = np.arange(4)
    inst.boxes = _Boxes(torch.arange(8).view(4, 2))
    return inst


def test_instance_length_is_enforced():
    inst = _instances()
    assert len(inst) == 4 and len(InstanceData()) == 0
    with pytest.raises(AssertionError, match='length 3'):
        inst.more = [1, 2, 3]
    with pytest.raises(TypeError, match='must have a length'):
        inst.count = 5
    inst.set_metainfo(dict(scale=2.0))  # metainfo has no length constraint
    assert inst.scale == 2.0 and len(inst) == 4
    single = InstanceData(a=[1, 2])
    single.a = [1, 2, 3]  # replacing the only field may change the length
    assert len(single) == 3


@pytest.mark.parametrize('index, expected', [
    (1, [1]), (-1, [3]), (-2, [2]), (slice(1, 3), [1, 2]), ([0, 2], [0, 2]),
    ([True, False, False, True], [0, 3]), (np.array([3, 1]), [3, 1]),
    (np.array([False, True, True, False]), [1, 2]), (torch.tensor([2, 0]), [2, 0]),
    (torch.tensor([True, True, False, False]), [0, 1]), ([], []),
])
def test_instance_indexing(index, expected):
    inst = _instances()
    picked = inst[index]
    assert isinstance(picked, InstanceData) and picked.img_id == 3
    assert picked.labels == expected
    assert picked.names == tuple('abcd'[i] for i in expected)
    assert picked.arr.tolist() == expected
    assert picked.scores.tolist() == [[0.1, 0.9, 0.5, 0.7][i] for i in expected]
    assert picked.boxes.data[:, 0].tolist() == [2 * i for i in expected]
    assert len(picked) == len(expected)


def test_instance_indexing_errors():
    inst = _instances()
    assert inst['labels'] == [0, 1, 2, 3]
    with pytest.raises(IndexError, match='out of range'):
        inst[4]
    with pytest.raises(IndexError, match='boolean index'):
        inst[torch.tensor([True, False])]
    with pytest.raises(ValueError, match='1-D'):
        inst[torch.zeros(2, 2, dtype=torch.long)]
    with pytest.raises(TypeError, match='integer or bool'):
        inst[torch.tensor([0.5])]
    with pytest.raises(TypeError, match='indices must be'):
        inst[1.5]


def test_instance_cat():
    a, b = _instances(), _instances()[1:3]
    merged = InstanceData.cat([a, b])
    assert len(merged) == 6 and merged.img_id == 3
    assert merged.labels == [0, 1, 2, 3, 1, 2]
    assert merged.names == ('a', 'b', 'c', 'd', 'b', 'c')
    assert merged.arr.tolist() == [0, 1, 2, 3, 1, 2]
    assert merged.scores.shape == (6,) and merged.boxes.data.shape == (6, 2)
    assert InstanceData.cat([a]) is a
    with pytest.raises(ValueError, match='at least one'):
        InstanceData.cat([])
    with pytest.raises(ValueError, match='same fields'):
        InstanceData.cat([a, InstanceData(labels=[1])])
    with pytest.raises(TypeError):
        InstanceData.cat([a, {'labels': [1]}])


def test_label_data_conversions():
    onehot = LabelData.label_to_onehot(torch.tensor([1, 3]), num_classes=5)
    assert onehot.tolist() == [0, 1, 0, 1, 0]
    assert LabelData.onehot_to_label(onehot).tolist() == [1, 3]
    assert LabelData.label_to_onehot(torch.tensor(2), 3).tolist() == [0, 0, 1]
    with pytest.raises(ValueError, match=r'\[0, 3\)'):
        LabelData.label_to_onehot(torch.tensor([3]), 3)
    with pytest.raises(TypeError):
        LabelData.label_to_onehot([1], 3)
    with pytest.raises(ValueError, match='only 0 and 1'):
        LabelData.onehot_to_label(torch.tensor([0, 2]))
    with pytest.raises(ValueError, match='1-D'):
        LabelData.onehot_to_label(torch.zeros(2, 2))
    label = LabelData(metainfo=dict(num_classes=5), gt_label=torch.tensor([1]))
    assert label.gt_label.tolist() == [1] and label.num_classes == 5


def test_pixel_data_shapes_and_indexing():
    pix = PixelData(metainfo=dict(img_id=0))
    assert pix.shape is None
    pix.seg = torch.arange(12).view(3, 4)
    pix.heat = np.zeros((2, 3, 4))
    assert pix.seg.shape == (1, 3, 4) and pix.shape == (3, 4)
    with pytest.raises(AssertionError, match=r'\(3, 4\)'):
        pix.bad = torch.zeros(2, 5)
    with pytest.raises(ValueError, match='2-D'):
        pix.bad = torch.zeros(4)
    with pytest.raises(TypeError, match='tensor or numpy'):
        pix.bad = [[1]]
    crop = pix[1:3, 2:]
    assert crop.shape == (2, 2) and crop.heat.shape == (2, 2, 2) and crop.img_id == 0
    assert crop.seg[0].tolist() == [[6, 7], [10, 11]]
    assert pix[:1].shape == (1, 4)
    with pytest.raises(TypeError, match='pair of slices'):
        pix[0]
