"""Config validation: every mistake reported at once, by key path, before anything is built."""
from __future__ import annotations

import copy
import os.path as osp
from pathlib import Path

import pytest

from mmengine.config import Config
from mmengine.runner import Runner
from mmengine.runner._validate import validate_config
from mmengine.testing import RunnerTestCase

pytestmark = pytest.mark.reliability

EXAMPLES = Path(__file__).resolve().parents[2] / 'examples' / 'rings'


class _Case(RunnerTestCase):
    def runTest(self):  # pragma: no cover
        pass


@pytest.fixture
def case():
    instance = _Case()
    instance.setUp()
    yield instance
    instance.tearDown()


def _set(cfg, path: str, value) -> None:
    *parents, last = path.split('.')
    node = cfg
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if value is _DELETE:
        del node[last]
    else:
        node[last] = value


_DELETE = object()

# (what is wrong, edits, fragments the single problem must contain)
MISTAKES = [
    ('unknown model type', {'model.type': 'ToyModle'}, ['model.type', "'ToyModel'"]),
    ('unknown dataset type', {'train_dataloader.dataset.type': 'ToyDatset'},
     ['train_dataloader.dataset.type', "'ToyDataset'"]),
    ('unknown sampler type', {'train_dataloader.sampler.type': 'DefaultSampeler'},
     ['train_dataloader.sampler.type', "'DefaultSampler'"]),
    ('sampler argument typo', {'train_dataloader.sampler.shufle': True},
     ['train_dataloader.sampler.shufle', "'shuffle'"]),
    ('dataloader without sampler', {'train_dataloader.sampler': _DELETE},
     ['train_dataloader', 'sampler']),
    ('dataloader without dataset', {'val_dataloader.dataset': _DELETE},
     ['val_dataloader', 'dataset']),
    ('shuffle on the dataloader', {'train_dataloader.shuffle': True},
     ['train_dataloader.shuffle', 'sampler']),
    ('DataLoader argument typo', {'train_dataloader.batchsize': 4},
     ['train_dataloader.batchsize', "'batch_size'"]),
    ('unknown optimizer', {'optim_wrapper.optimizer.type': 'SGDD'},
     ['optim_wrapper.optimizer.type', "'SGD'"]),
    ('optimizer argument typo', {'optim_wrapper.optimizer.lrr': 0.1},
     ['optim_wrapper.optimizer.lrr', "'lr'"]),
    ('optim_wrapper without optimizer', {'optim_wrapper.optimizer': _DELETE},
     ['optim_wrapper', 'optimizer']),
    ('train_cfg argument typo', {'train_cfg.max_epoch': 3},
     ['train_cfg.max_epoch', "'max_epochs'"]),
    ('missing required loop argument', {'train_cfg.max_epochs': _DELETE},
     ['train_cfg', "'max_epochs'", 'missing']),
    ('unknown hook', {'custom_hooks': [dict(type='EMAHok')]},
     ['custom_hooks.0.type', "'EMAHook'"]),
    ('hook argument typo', {'default_hooks.logger.intervl': 5},
     ['default_hooks.logger.intervl', "'interval'"]),
    ('unknown metric', {'val_evaluator': [dict(type='ToyMetrc')]},
     ['val_evaluator.0.type', "'ToyMetric'"]),
    ('unknown scheduler', {'param_scheduler': [dict(type='MultiStepLRR', milestones=[1])]},
     ['param_scheduler.0.type', "'MultiStepLR'"]),
    ('scheduler argument typo', {'param_scheduler': [dict(type='MultiStepLR', milestone=[1])]},
     ['param_scheduler.0.milestone', "'milestones'"]),
    ('unknown collate_fn', {'train_dataloader.collate_fn': dict(type='defualt_collate')},
     ['train_dataloader.collate_fn.type', "'default_collate'"]),
    ('log_processor argument typo', {'log_processor': dict(window_sise=5)},
     ['log_processor.window_sise', "'window_size'"]),
    ('unknown vis backend', {'visualizer': dict(type='Visualizer',
                                                vis_backends=[dict(type='LocalVisBackand')])},
     ['visualizer.vis_backends.0.type', "'LocalVisBackend'"]),
    ('no model', {'model': _DELETE}, ['model']),
    ('bad resume value', {'resume': 'yes'}, ['resume', "'auto'"]),
    ('missing load_from file', {'load_from': 'no/such/file.pth'}, ['load_from', 'exist']),
]


@pytest.mark.parametrize('what, edits, fragments', MISTAKES, ids=[m[0] for m in MISTAKES])
def test_each_mistake_is_reported_with_its_key_path(case, what, edits, fragments):
    cfg = copy.deepcopy(case.epoch_based_cfg)
    for path, value in edits.items():
        _set(cfg, path, value)
    problems = validate_config(cfg)
    assert len(problems) == 1, f'{what}: {problems}'
    for fragment in fragments:
        assert fragment in problems[0], f'{what}: {fragment!r} not in {problems[0]!r}'


def test_iteration_loop_with_by_epoch_scheduler(case):
    cfg = copy.deepcopy(case.iter_based_cfg)
    cfg.param_scheduler = [dict(type='MultiStepLR', milestones=[4], by_epoch=True)]
    problems = validate_config(cfg)
    assert len(problems) == 1 and 'param_scheduler.0' in problems[0]
    assert 'by_epoch=False' in problems[0] and 'convert_to_iter_based' in problems[0]


def test_val_interval_without_val_dataloader(case):
    cfg = copy.deepcopy(case.epoch_based_cfg)
    for key in ('val_dataloader', 'val_cfg', 'val_evaluator'):
        cfg.pop(key)
    problems = validate_config(cfg)
    assert len(problems) == 1 and problems[0].startswith('train_cfg.val_interval')


def test_all_problems_at_once_naming_the_file_and_building_nothing(case, tmp_path):
    cfg = copy.deepcopy(case.epoch_based_cfg)
    cfg.model.type = 'ToyModle'
    cfg.train_dataloader.sampler.shufle = True
    cfg.optim_wrapper.optimizer.lrr = 1
    cfg.work_dir = str(tmp_path / 'never_created')
    path = tmp_path / 'my_config.py'
    cfg.dump(str(path))
    loaded = Config.fromfile(str(path))
    with pytest.raises(ValueError) as info:
        Runner.from_cfg(loaded)
    message = str(info.value)
    assert 'my_config.py' in message and '3 problem' in message
    for path_fragment in ('model.type', 'train_dataloader.sampler.shufle',
                          'optim_wrapper.optimizer.lrr'):
        assert path_fragment in message
    assert not osp.exists(tmp_path / 'never_created')


def test_valid_configs_raise_nothing(case, monkeypatch):
    assert validate_config(case.epoch_based_cfg) == []
    assert validate_config(case.iter_based_cfg) == []
    monkeypatch.syspath_prepend(str(EXAMPLES))
    cfg = Config.fromfile(str(EXAMPLES / 'example_config.py'))
    assert validate_config(cfg) == []


def test_new_train_cfg_options_are_valid(case):
    cfg = copy.deepcopy(case.epoch_based_cfg)
    cfg.train_cfg.update(check_finite=True, nonfinite='skip', hang_timeout=60,
                         preemption=dict(signals=['SIGUSR1'], exit_code=3))
    cfg.resume = 'auto'
    assert validate_config(cfg) == []
