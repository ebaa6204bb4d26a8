"""ConcatDataset, RepeatDataset and ClassBalancedDataset."""
from __future__ import annotations

import json

import pytest

from mmengine.dataset import BaseDataset, ClassBalancedDataset, ConcatDataset, RepeatDataset
from mmengine.registry import DATASETS


@DATASETS.register_module(force=True)
class WrapperToyDataset(BaseDataset):
    METAINFO = dict(classes=('a', 'b', 'c'))

    def get_cat_ids(self, idx):
        return self.get_data_info(idx)['cats']


def _write(path, cats_per_sample, metainfo=None):
    data_list = [dict(img_path=f'{path}-{i}', cats=cats)
                 for i, cats in enumerate(cats_per_sample)]
    with open(path, 'w') as f:
        json.dump(dict(metainfo=metainfo or {}, data_list=data_list), f)
    return dict(type='WrapperToyDataset', ann_file=path)


def test_concat_dataset():
    first = _write('a.json', [[0], [1], [2]])
    second = DATASETS.build(_write('b.json', [[0], [1]]))
    concat = ConcatDataset([first, second])
    assert len(concat) == 5
    assert [concat.get_data_info(i)['img_path'] for i in (0, 2, 3, -1)] == \
        ['a.json-0', 'a.json-2', 'b.json-0', 'b.json-1']
    assert concat[4]['img_path'] == 'b.json-1'
    assert concat.metainfo == dict(classes=('a', 'b', 'c'))
    with pytest.raises(IndexError):
        concat.get_data_info(5)
    with pytest.raises(NotImplementedError, match='wrapped'):
        concat.get_subset(1)
    built = DATASETS.build(dict(type='ConcatDataset', datasets=[first, first]))
    assert len(built) == 6


def test_concat_metainfo_must_match_unless_ignored():
    first = _write('a.json', [[0]])
    other = _write('b.json', [[0]])
    other['metainfo'] = dict(classes=('x',), extra=1)
    with pytest.raises(ValueError, match="'classes'"):
        ConcatDataset([first, other])
    concat = ConcatDataset([first, other], ignore_keys=['classes', 'extra'])
    assert concat.metainfo['classes'] == ('a', 'b', 'c')


def test_concat_lazy_init():
    cfg = _write('a.json', [[0], [1]])
    cfg['lazy_init'] = True
    concat = ConcatDataset([cfg, cfg], lazy_init=True)
    assert not concat._fully_initialized and not concat.datasets[0]._fully_initialized
    assert len(concat) == 4
    assert concat._fully_initialized and concat.datasets[1]._fully_initialized


def test_repeat_dataset():
    dataset = DATASETS.build(_write('a.json', [[0], [1], [2]]))
    repeated = RepeatDataset(dataset, times=3)
    assert len(repeated) == 9
    assert repeated.get_data_info(4)['img_path'] == 'a.json-1'
    assert repeated[8]['img_path'] == 'a.json-2'
    assert repeated.get_data_info(-1)['img_path'] == 'a.json-2'
    assert repeated.metainfo == dataset.metainfo
    with pytest.raises(IndexError):
        repeated[9]
    with pytest.raises(ValueError, match='times'):
        RepeatDataset(dataset, times=0)
    lazy = RepeatDataset(_write('b.json', [[0]]) | dict(lazy_init=True), 2, lazy_init=True)
    assert not lazy.dataset._fully_initialized
    assert len(lazy) == 2


def test_class_balanced_dataset_repeats_rare_classes():
    # class 0 is in 4/5 samples, class 1 in 1/5, one sample has no class
    cfg = _write('a.json', [[0], [0], [0], [0, 1], []])
    balanced = ClassBalancedDataset(cfg, oversample_thr=0.5)
    # r(1) = sqrt(0.5 / 0.2) = 1.58 -> sample 3 appears twice; r(0) = 1
    assert balanced.repeat_indices == [0, 1, 2, 3, 3, 4]
    assert len(balanced) == 6
    assert balanced.get_cat_ids(4) == [0, 1]
    assert balanced[5]['img_path'] == 'a.json-4'
    assert balanced.get_data_info(3)['img_path'] == 'a.json-3'
    with pytest.raises(NotImplementedError):
        balanced.get_subset_(1)
    assert len(ClassBalancedDataset(cfg, oversample_thr=0.1)) == 5
