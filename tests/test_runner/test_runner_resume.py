"""Resume equals an uninterrupted run: weights, optimizer state and the loss/lr sequence."""
from __future__ import annotations

import copy
import os.path as osp
import shutil

import pytest
import torch

from mmengine.hooks import Hook


class LossRecorder(Hook):
    priority = 'LOWEST'

    def __init__(self):
        self.losses, self.lrs = [], []

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.losses.append(float(outputs['loss']))
        self.lrs.append(runner.optim_wrapper.get_lr()['lr'][0])


def _train(case, cfg, work_dir, resume_from=None):
    cfg = copy.deepcopy(cfg)
    cfg.work_dir = str(work_dir)
    cfg.randomness = dict(seed=2024, deterministic=True)
    recorder = LossRecorder()
    cfg.custom_hooks = [recorder]
    if resume_from is not None:
        cfg.resume = True
        cfg.load_from = str(resume_from)
    runner = case.build_runner(cfg)
    recorder = next(h for h in runner.hooks if isinstance(h, LossRecorder))
    runner.train()
    return runner, recorder


def _assert_same_state(a, b):
    for (name, pa), (_, pb) in zip(a.model.state_dict().items(), b.model.state_dict().items()):
        assert torch.equal(pa, pb), name
    sa, sb = a.optim_wrapper.state_dict(), b.optim_wrapper.state_dict()
    for key in sa['state']:
        for field, value in sa['state'][key].items():
            assert torch.equal(torch.as_tensor(value), torch.as_tensor(sb['state'][key][field]))


@pytest.mark.parametrize('save_cfg, resume_file, done', [
    (dict(interval=1, by_epoch=True), 'epoch_1.pth', 4),          # at an epoch end
    (dict(interval=6, by_epoch=False), 'iter_6.pth', 6),          # mid-epoch (4 iters/epoch)
])
def test_epoch_based_resume_matches_uninterrupted(case, tmp_path, save_cfg, resume_file, done):
    cfg = copy.deepcopy(case.epoch_based_cfg)
    cfg.train_cfg = dict(by_epoch=True, max_epochs=3)
    cfg.optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9))
    cfg.param_scheduler = [dict(type='LinearLR', start_factor=0.5, by_epoch=False, begin=0,
                                end=5),
                           dict(type='MultiStepLR', milestones=[2], by_epoch=True)]
    cfg.default_hooks = dict(checkpoint=dict(type='CheckpointHook', **save_cfg))
    full, full_rec = _train(case, cfg, tmp_path / 'full')
    resumed, rec = _train(case, cfg, tmp_path / 'resumed',
                          resume_from=osp.join(tmp_path / 'full', resume_file))
    assert rec.losses == full_rec.losses[done:]
    assert rec.lrs == full_rec.lrs[done:]
    _assert_same_state(full, resumed)


def test_iter_based_resume_matches_uninterrupted(case, tmp_path):
    cfg = copy.deepcopy(case.iter_based_cfg)
    cfg.train_cfg = dict(by_epoch=False, max_iters=10, val_interval=100)
    cfg.optim_wrapper = dict(optimizer=dict(type='Adam', lr=0.01))
    cfg.default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=4, by_epoch=False))
    full, full_rec = _train(case, cfg, tmp_path / 'full')
    resumed, rec = _train(case, cfg, tmp_path / 'resumed',
                          resume_from=tmp_path / 'full' / 'iter_4.pth')
    assert rec.losses == full_rec.losses[4:]
    _assert_same_state(full, resumed)


def test_resume_true_finds_latest_checkpoint(case, tmp_path):
    cfg = copy.deepcopy(case.epoch_based_cfg)
    cfg.train_cfg = dict(by_epoch=True, max_epochs=1)
    _train(case, cfg, tmp_path / 'run')
    cfg.train_cfg = dict(by_epoch=True, max_epochs=2)
    cfg.resume = True
    cfg.work_dir = str(tmp_path / 'run')
    runner = case.build_runner(cfg)
    runner.train()
    assert runner.epoch == 2 and runner.iter == 8


def test_load_from_loads_weights_only(case, tmp_path):
    cfg = copy.deepcopy(case.epoch_based_cfg)
    first, _ = _train(case, cfg, tmp_path / 'a')
    cfg.load_from = str(tmp_path / 'a' / 'epoch_2.pth')
    cfg.train_cfg = dict(by_epoch=True, max_epochs=1)
    cfg.work_dir = str(tmp_path / 'b')
    runner = case.build_runner(cfg)
    runner.load_or_resume()
    assert runner.epoch == 0
    for key, value in first.model.state_dict().items():
        assert torch.equal(value, runner.model.state_dict()[key])


def test_checkpoint_loads_weights_only_and_holds_plain_data(case, tmp_path):
    cfg = copy.deepcopy(case.epoch_based_cfg)
    _train(case, cfg, tmp_path / 'a')
    checkpoint = torch.load(tmp_path / 'a' / 'epoch_2.pth', weights_only=True)
    assert {'meta', 'state_dict', 'optimizer', 'message_hub', 'data_position',
            'rng'} <= set(checkpoint)
    assert checkpoint['meta']['epoch'] == 2 and checkpoint['meta']['iter'] == 8
    shutil.rmtree(tmp_path / 'a')
