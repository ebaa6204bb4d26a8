"""BaseDataset: annotation loading, metainfo, lazy/serialized storage, subsets, refetch."""
from __future__ import annotations

import itertools
import json
import os.path as osp

import numpy as np
import pytest

from mmengine.dataset import BaseDataset, Compose, force_full_init
from mmengine.registry import TRANSFORMS


class ToyDataset(BaseDataset):
    METAINFO = dict(classes=('cat', 'dog'), task='cls')

    def get_cat_ids(self, idx):
        return [self.get_data_info(idx)['label']]


def _write_ann(path='ann.json', n=5, metainfo=None):
    data_list = [dict(img_path=f'{i}.jpg', label=i % 2) for i in range(n)]
    with open(path, 'w') as f:
        json.dump(dict(metainfo=metainfo or dict(task='det', version='1'),
                       data_list=data_list), f)
    return path


@pytest.mark.parametrize('serialize', [True, False])
def test_loads_annotations_and_joins_prefixes(tmp_path, serialize):
    _write_ann('ann.json')
    dataset = ToyDataset(ann_file='ann.json', data_root=str(tmp_path),
                         data_prefix=dict(img_path='imgs'), serialize_data=serialize)
    assert len(dataset) == 5
    info = dataset.get_data_info(3)
    assert info == dict(img_path=osp.join(str(tmp_path), 'imgs', '3.jpg'), label=1,
                        sample_idx=3)
    assert dataset.get_data_info(-1)['sample_idx'] == 4
    info['label'] = 99  # a fresh copy each time
    assert dataset.get_data_info(3)['label'] == 1
    assert dataset[0]['img_path'].endswith('0.jpg')
    with pytest.raises(IndexError, match='out of range'):
        dataset.get_data_info(5)
    if serialize:
        assert dataset.data_list == [] and isinstance(dataset.data_bytes, np.ndarray)


def test_metainfo_precedence_and_copy():
    _write_ann(metainfo=dict(task='det', version='1', classes=('x',)))
    with open('names.txt', 'w') as f:
        f.write('a\nb\n')
    dataset = ToyDataset(ann_file='ann.json', metainfo=dict(version='2', names='names.txt'))
    meta = dataset.metainfo
    assert meta['task'] == 'cls'           # class attribute beats file
    assert meta['classes'] == ('cat', 'dog')
    assert meta['version'] == '2'          # argument beats everything
    assert meta['names'] == ['a', 'b']     # a file path value is read as lines
    meta['task'] = 'changed'
    assert dataset.metainfo['task'] == 'cls'
    assert ToyDataset.METAINFO == dict(classes=('cat', 'dog'), task='cls')


def test_lazy_init_defers_loading():
    dataset = ToyDataset(ann_file='missing.json', lazy_init=True)
    assert not dataset._fully_initialized
    _write_ann('missing.json')
    assert len(dataset) == 5  # force_full_init loads on first use
    assert dataset._fully_initialized
    assert dataset.metainfo['version'] == '1'


def test_bad_annotation_files():
    with open('list.json', 'w') as f:
        json.dump([1, 2], f)
    with pytest.raises(TypeError, match='must hold a dict'):
        ToyDataset(ann_file='list.json')
    with open('nolist.json', 'w') as f:
        json.dump(dict(metainfo={}), f)
    with pytest.raises(ValueError, match='data_list'):
        ToyDataset(ann_file='nolist.json')
    _write_ann()
    with pytest.raises(KeyError, match='seg_path'):
        ToyDataset(ann_file='ann.json', data_prefix=dict(seg_path=''))


class EvenOnly(ToyDataset):
    def filter_data(self):
        keep = self.filter_cfg['keep_label']
        return [info for info in self.data_list if info['label'] == keep]


class Expanding(ToyDataset):
    def parse_data_info(self, raw_data_info):
        info = super().parse_data_info(raw_data_info)
        return [info, dict(info, copy=True)]


def test_filter_parse_to_list_and_indices():
    _write_ann(n=6)
    dataset = EvenOnly(ann_file='ann.json', filter_cfg=dict(keep_label=0))
    assert [dataset.get_data_info(i)['img_path'] for i in range(len(dataset))] == \
        ['0.jpg', '2.jpg', '4.jpg']
    assert len(Expanding(ann_file='ann.json')) == 12
    assert len(ToyDataset(ann_file='ann.json', indices=2)) == 2
    picked = ToyDataset(ann_file='ann.json', indices=[5, 1])
    assert [picked.get_data_info(i)['img_path'] for i in range(2)] == ['5.jpg', '1.jpg']


@pytest.mark.parametrize('serialize', [True, False])
def test_subsets(serialize):
    _write_ann(n=6)
    dataset = ToyDataset(ann_file='ann.json', serialize_data=serialize)
    paths = lambda d: [d.get_data_info(i)['img_path'] for i in range(len(d))]  # noqa: E731
    assert paths(dataset.get_subset(2)) == ['0.jpg', '1.jpg']
    assert paths(dataset.get_subset(-2)) == ['4.jpg', '5.jpg']
    subset = dataset.get_subset([4, 0, 2])
    assert paths(subset) == ['4.jpg', '0.jpg', '2.jpg']
    assert subset.metainfo == dataset.metainfo and type(subset) is ToyDataset
    assert len(dataset) == 6  # the original is untouched
    dataset.get_subset_([1, 3])
    assert paths(dataset) == ['1.jpg', '3.jpg']
    with pytest.raises(TypeError, match='indices'):
        dataset.get_subset('0')


def test_pipeline_and_refetch(monkeypatch):
    _write_ann(n=4)
    drop_label_1 = lambda info: None if info['label'] == 1 else info  # noqa: E731
    dataset = ToyDataset(ann_file='ann.json', pipeline=[drop_label_1])
    draws = itertools.cycle([3, 1, 2])
    monkeypatch.setattr(np.random, 'randint', lambda low, high: next(draws))
    assert dataset[1]['sample_idx'] == 2  # 1 -> 3 -> 1 -> 2
    with pytest.raises(RuntimeError, match='sample 1 .* 0 random replacements'):
        ToyDataset(ann_file='ann.json', pipeline=[drop_label_1], max_refetch=0)[1]
    with pytest.raises(RuntimeError, match='test mode'):
        ToyDataset(ann_file='ann.json', pipeline=[drop_label_1], test_mode=True)[1]


class _AddOne:
    def __call__(self, x):
        return x + 1

    def __repr__(self):
        return 'AddOne()'


def test_compose():
    TRANSFORMS.register_module('AddOneForTest', module=_AddOne, force=True)
    pipeline = Compose([dict(type='AddOneForTest'), lambda x: x * 10])
    assert pipeline(1) == 20
    assert Compose([lambda x: None, pytest.fail])(1) is None
    assert Compose(None)(5) == 5 and Compose(_AddOne())(1) == 2
    assert 'AddOne()' in repr(pipeline) and repr(pipeline).startswith('Compose(')
    with pytest.raises(TypeError, match='transform 0'):
        Compose([3])
    assert TRANSFORMS.get('Compose') is Compose


def test_force_full_init_decorator():
    class Lazy:
        _fully_initialized = False

        def full_init(self):
            self._fully_initialized = True

        @force_full_init
        def ready(self):
            return self._fully_initialized

    assert Lazy().ready()


def test_serialized_dataset_in_dataloader_workers():
    import functools

    from torch.utils.data import DataLoader

    from mmengine.dataset import DefaultSampler, pseudo_collate, worker_init_fn
    _write_ann(n=6)
    dataset = ToyDataset(ann_file='ann.json')
    loader = DataLoader(dataset, batch_size=2, num_workers=2, collate_fn=pseudo_collate,
                        sampler=DefaultSampler(dataset, shuffle=False, seed=0),
                        worker_init_fn=functools.partial(worker_init_fn, num_workers=2,
                                                         rank=0, seed=0))
    seen = [idx for batch in loader for idx in batch['sample_idx']]
    assert seen == list(range(6))
