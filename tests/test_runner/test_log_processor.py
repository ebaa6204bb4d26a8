from __future__ import annotations

import datetime
import re

import pytest
import torch

from mmengine.registry import LOG_PROCESSORS
from mmengine.runner.log_processor import LogProcessor, _format_eta
from tests.test_hooks.fake_runner import FakeRunner

cuda_line = pytest.mark.skipif(torch.cuda.is_available(), reason='memory appears with CUDA')


def _fill_train(hub, n=10, loss=5.3465, time=0.1414, data_time=0.0077):
    for _ in range(n):
        hub.update_scalar('train/lr', 1e-3)
        hub.update_scalar('train/data_time', data_time)
        hub.update_scalar('train/loss', torch.tensor(loss))
        hub.update_scalar('train/time', time)
    hub.update_info('eta', 1103.7)


@cuda_line
def test_epoch_train_line_matches_tutorial(tmp_path):
    runner = FakeRunner(tmp_path, max_epochs=5, train_len=1563)
    runner.iter = 9
    _fill_train(runner.message_hub)
    tag, line = LogProcessor().get_log_after_iter(runner, 9, 'train')
    assert line == ('Epoch(train) [1][10/1563]  lr: 1.0000e-03  eta: 0:18:23  time: 0.1414  '
                    'data_time: 0.0077  loss: 5.3465')
    assert tag['lr'] == pytest.approx(1e-3)
    assert tag['loss'] == pytest.approx(5.3465)
    assert (tag['epoch'], tag['iter']) == (1, 10)


@cuda_line
def test_iter_train_line_and_window_mean(tmp_path):
    runner = FakeRunner(tmp_path, by_epoch=False, max_iters=1000)
    hub = runner.message_hub
    _fill_train(hub, n=10, loss=1.0)
    _fill_train(hub, n=10, loss=3.0)  # the window of 10 sees only these
    runner.iter = 19
    tag, line = LogProcessor(by_epoch=False).get_log_after_iter(runner, 19, 'train')
    assert line.startswith('Iter(train) [20/1000]  lr: 1.0000e-03  eta: 0:18:23')
    assert line.endswith('loss: 3.0000')
    assert 'epoch' not in tag and tag['iter'] == 20
    _, line = LogProcessor(by_epoch=False, window_size=20).get_log_after_iter(runner, 19, 'train')
    assert line.endswith('loss: 2.0000')


@cuda_line
def test_val_lines_match_tutorial(tmp_path):
    runner = FakeRunner(tmp_path, val_len=313)
    runner.epoch = 1  # validation runs after the first epoch was counted
    hub = runner.message_hub
    for _ in range(10):
        hub.update_scalar('val/data_time', 0.0047)
        hub.update_scalar('val/time', 0.0122)
    hub.update_info('eta', 3.5)
    processor = LogProcessor()
    _, line = processor.get_log_after_iter(runner, 9, 'val')
    assert line == ('Epoch(val) [1][10/313]    eta: 0:00:03  time: 0.0122  '
                    'data_time: 0.0047')
    hub.update_scalar('val/accuracy', 35.7)
    tag, line = processor.get_log_after_epoch(runner, 313, 'val')
    assert line == 'Epoch(val) [1][313/313]  accuracy: 35.7000'
    assert tag['accuracy'] == pytest.approx(35.7)
    assert tag['time'] == pytest.approx(0.0122)


def test_test_and_iter_based_eval_headers(tmp_path):
    runner = FakeRunner(tmp_path, val_len=4)
    runner.message_hub.update_scalar('test/acc', 1.0)
    _, line = LogProcessor().get_log_after_epoch(runner, 4, 'test')
    assert line == 'Epoch(test) [4/4]  acc: 1.0000'
    _, line = LogProcessor(by_epoch=False).get_log_after_epoch(runner, 4, 'test')
    assert line == 'Iter(test) [4/4]  acc: 1.0000'
    _, line = LogProcessor(by_epoch=False).get_log_after_iter(runner, 1, 'test')
    assert line.startswith('Iter(test) [2/4]')


def test_hierarchy_and_custom_cfg(tmp_path):
    runner = FakeRunner(tmp_path)
    hub = runner.message_hub
    for value in (1.0, 5.0, 3.0):
        hub.update_scalar('train/loss', value)
    processor = LogProcessor(log_with_hierarchy=True, custom_cfg=[
        dict(data_src='loss', log_name='loss_max', method_name='max', window_size='global')])
    runner.iter = 2
    tag, line = processor.get_log_after_iter(runner, 2, 'train')
    assert tag['train/loss'] == pytest.approx(3.0)
    assert tag['train/loss_max'] == pytest.approx(5.0)
    assert 'loss_max: 5.0000' in line and 'train/' not in line


def test_custom_cfg_errors_and_registry():
    with pytest.raises(ValueError, match='data_src'):
        LogProcessor(custom_cfg=[dict(method_name='max')])
    with pytest.raises(ValueError, match='epoch'):
        LogProcessor(by_epoch=False, custom_cfg=[dict(data_src='loss', window_size='epoch')])
    with pytest.raises(ValueError, match='mode'):
        LogProcessor().get_log_after_iter(None, 0, 'predict')
    assert isinstance(LOG_PROCESSORS.build(dict(type='LogProcessor')), LogProcessor)


def _check_rank_average(rank, world_size):
    import tempfile

    from mmengine.logging import MessageHub
    from tests.test_hooks.fake_runner import FakeRunner
    runner = FakeRunner(tempfile.mkdtemp())
    MessageHub._instance_dict.clear()
    runner.message_hub = MessageHub.get_instance(f'rank{rank}')
    runner.message_hub.update_scalar('train/loss', torch.tensor(float(rank + 1)))
    runner.message_hub.update_scalar('train/time', float(rank))
    tag, _ = LogProcessor().get_log_after_iter(runner, 0, 'train')
    assert tag['loss'] == pytest.approx(1.5)  # (1 + 2) / 2
    assert tag['time'] == pytest.approx(rank)  # times are not averaged


@pytest.mark.dist
def test_losses_averaged_across_ranks():
    from tests._helpers.dist import run_on_ranks
    run_on_ranks(_check_rank_average, world_size=2)


@pytest.mark.gpu
def test_memory_column_on_cuda(tmp_path):
    runner = FakeRunner(tmp_path, max_epochs=5, train_len=1563)
    runner.model = torch.nn.Linear(2, 2).cuda()
    block = torch.empty(64 * 1024 * 1024, dtype=torch.uint8, device='cuda')  # 64 MB
    _fill_train(runner.message_hub)
    tag, line = LogProcessor().get_log_after_iter(runner, 9, 'train')
    del block
    assert tag['memory'] >= 64
    assert f'data_time: 0.0077  memory: {tag["memory"]}  loss: 5.3465' in line
    # the peak was reset: the next logged line reports only what was allocated since
    _, line = LogProcessor().get_log_after_iter(runner, 9, 'train')
    assert f'memory: {tag["memory"]}' not in line


@cuda_line
def test_lines_follow_keys_that_appear_later_and_pattern_changes(tmp_path):
    runner = FakeRunner(tmp_path, max_epochs=5, train_len=1563)
    runner.iter = 9
    hub = runner.message_hub
    _fill_train(hub)
    processor = LogProcessor()
    _, line = processor.get_log_after_iter(runner, 9, 'train')
    assert line.endswith('data_time: 0.0077  loss: 5.3465')
    for value in range(10):  # a key first logged later in the run
        hub.update_scalar('train/grad_norm', float(value))
        hub.update_scalar('train/acc', float(value))
    tag, line = processor.get_log_after_iter(runner, 9, 'train')
    assert line.endswith('loss: 5.3465  grad_norm: 4.5000  acc: 9.0000')  # mean vs latest
    assert tag['grad_norm'] == 4.5 and tag['acc'] == 9.0
    processor.mean_pattern = re.compile(r'acc')
    tag, line = processor.get_log_after_iter(runner, 9, 'train')
    assert tag['acc'] == 4.5 and tag['grad_norm'] == 9.0 and 'time: 0.1414' in line


def test_custom_cfg_is_not_modified_by_logging(tmp_path):
    runner = FakeRunner(tmp_path)
    for value in (1.0, 5.0, 3.0):
        runner.message_hub.update_scalar('train/loss', value)
    custom_cfg = [dict(data_src='loss', log_name='loss_epoch', window_size='epoch'),
                  dict(data_src='loss', log_name='loss_global_max', method_name='max',
                       window_size='global')]
    processor = LogProcessor(custom_cfg=custom_cfg)
    runner.iter = 2
    for batch_idx in (0, 2):
        tag, _ = processor.get_log_after_iter(runner, batch_idx, 'train')
    assert tag['loss_epoch'] == 3.0 and tag['loss_global_max'] == 5.0
    assert processor.custom_cfg == custom_cfg and custom_cfg[0]['window_size'] == 'epoch'


def test_train_header_measures_the_dataloader_once_per_epoch(tmp_path):
    runner = FakeRunner(tmp_path, max_epochs=3, train_len=20)
    _fill_train(runner.message_hub)
    processor = LogProcessor()
    assert processor.get_log_after_iter(runner, 9, 'train')[1].startswith('Epoch(train) [1][10/20]')
    runner.train_dataloader = list(range(30))  # e.g. a dataset that grows between epochs
    assert processor.get_log_after_iter(runner, 19, 'train')[1].startswith('Epoch(train) [1][20/20]')
    runner.epoch = 1
    assert processor.get_log_after_iter(runner, 9, 'train')[1].startswith('Epoch(train) [2][10/30]')


@pytest.mark.parametrize('seconds', [0, 7, 59, 60, 3599, 3600, 36_061, 86_399, 86_400,
                                     90_061, 10**7, -1, -90_000])
def test_eta_reads_like_a_timedelta(seconds):
    assert _format_eta(seconds) == str(datetime.timedelta(seconds=seconds))
