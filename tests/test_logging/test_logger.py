from __future__ import annotations

import io
import logging
import re
import sys

import pytest

from mmengine.logging import MMLogger, print_log
from mmengine.logging.logger import FilterDuplicateWarning, MMFormatter
from tests._helpers.dist import run_on_ranks

LINE = re.compile(r'^\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2} - mmengine - (INFO|WARNING) - (.*)$')


def test_terminal_and_file_format(capsys, tmp_path):
    log_file = tmp_path / 'logs' / 'run.log'
    logger = MMLogger.get_instance('fmt', log_file=str(log_file))
    logger.info('hello world')
    logger.warning('careful')
    logger.debug('hidden at INFO')
    out = capsys.readouterr().out.splitlines()
    assert [LINE.match(line).groups() for line in out] == [('INFO', 'hello world'),
                                                            ('WARNING', 'careful')]
    assert logger.log_file == str(log_file)
    text = log_file.read_text().splitlines()
    assert [LINE.match(line).group(2) for line in text] == ['hello world', 'careful']
    assert '\033[' not in log_file.read_text()


def test_errors_name_the_source_and_colors_only_with_color():
    record = logging.LogRecord('mmengine', logging.ERROR, '/x/y.py', 7, 'boom', None, None,
                               func='f')
    plain = MMFormatter(color=False).format(record)
    assert plain.endswith(' - mmengine - ERROR - /x/y.py - f - 7 - boom')
    colored = MMFormatter(color=True).format(record)
    assert '\033[31mERROR\033[0m' in colored
    warn = logging.LogRecord('mmengine', logging.WARNING, 'p', 1, 'w', None, None)
    assert '\033[33mWARNING' in MMFormatter(color=True).format(warn)
    assert '\033[' not in MMFormatter(color=False).format(warn)


def test_non_tty_stdout_is_not_colored(capsys):
    logger = MMLogger.get_instance('plain')
    logger.warning('no colors')
    assert '\033[' not in capsys.readouterr().out


def test_levels_file_mode_and_duplicate_warnings(capsys, tmp_path):
    log_file = tmp_path / 'a.log'
    log_file.write_text('old line\n')
    logger = MMLogger.get_instance('lvl', log_file=str(log_file), log_level='debug',
                                   file_mode='a')
    logger.debug('dbg')
    logger.warning('same')
    logger.warning('same')
    out = capsys.readouterr().out
    assert 'dbg' in out and out.count('same') == 1
    content = log_file.read_text()
    assert content.startswith('old line\n') and content.count('same') == 1
    logger.setLevel('ERROR')
    logger.info('gone')
    assert 'gone' not in capsys.readouterr().out
    with pytest.raises(ValueError, match='file_mode'):
        MMLogger('bad', file_mode='x')


def test_filter_duplicate_warning_passes_other_levels():
    filt = FilterDuplicateWarning()
    info = logging.LogRecord('n', logging.INFO, 'p', 1, 'm', None, None)
    warn = logging.LogRecord('n', logging.WARNING, 'p', 1, 'm', None, None)
    assert filt.filter(info) and filt.filter(info)
    assert filt.filter(warn) and not filt.filter(warn)


def test_rotating_file_handler_cfg(tmp_path):
    log_file = tmp_path / 'rot.log'
    logger = MMLogger.get_instance('rot', log_file=str(log_file), file_handler_cfg=dict(
        type='RotatingFileHandler', maxBytes=200, backupCount=2))
    for i in range(20):
        logger.info(f'message number {i}')
    assert (tmp_path / 'rot.log.1').exists()
    with pytest.raises(ValueError, match='file_handler_cfg'):
        MMLogger('x', log_file=str(tmp_path / 'x.log'), file_handler_cfg=dict(type='Nope'))


def test_instances_are_independent(capsys):
    a = MMLogger.get_instance('a', logger_name='alpha')
    b = MMLogger.get_instance('b', logger_name='alpha')
    a.info('once')
    assert capsys.readouterr().out.count('once') == 1
    assert a is not b and MMLogger.get_instance('a') is a
    b.info('from b')
    assert capsys.readouterr().out.count(' - alpha - INFO - from b') == 1


def test_logging_disable_applies_after_lines_were_logged(capsys):
    logger = MMLogger.get_instance('disable', log_level='INFO')
    logger.info('before')  # fills the cache of enabled levels
    try:
        logging.disable(logging.WARNING)
        logger.info('hidden')
        logger.warning('hidden too')
        logger.error('shown')
    finally:
        logging.disable(logging.NOTSET)
    logger.info('after')
    out = capsys.readouterr().out
    assert 'before' in out and 'shown' in out and 'after' in out and 'hidden' not in out


def test_current_instance_is_created_on_demand():
    assert not MMLogger._instance_dict
    logger = MMLogger.get_current_instance()
    assert logger.instance_name == 'mmengine' and logger.name == 'mmengine'
    other = MMLogger.get_instance('other')
    assert MMLogger.get_current_instance() is other


def test_print_log_targets(capsys):
    print_log('to stdout')
    assert capsys.readouterr().out == 'to stdout\n'
    print_log('nothing', logger='silent')
    assert capsys.readouterr().out == ''
    MMLogger.get_instance('named')
    print_log('via name', logger='named', level=logging.WARNING)
    assert ' - mmengine - WARNING - via name' in capsys.readouterr().out
    print_log('via current', logger='current')
    assert ' - mmengine - INFO - via current' in capsys.readouterr().out
    std = logging.getLogger('test_print_log_std')
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    std.addHandler(handler)
    print_log('std', logger=std, level=logging.ERROR)
    assert records[0].getMessage() == 'std' and records[0].levelno == logging.ERROR
    with pytest.raises(ValueError, match='no MMLogger of that name'):
        print_log('x', logger='missing')
    with pytest.raises(TypeError, match='print_log logger'):
        print_log('x', logger=3)


def _check_rank_filtering(rank, world_size, log_dir):
    sys.stdout = buffer = io.StringIO()
    logger = MMLogger.get_instance('dist', log_file=f'{log_dir}/run.log', distributed=True)
    quiet = MMLogger.get_instance('quiet', log_file=f'{log_dir}/quiet.log')
    logger.info(f'info from {rank}')
    logger.error(f'error from {rank}')
    quiet.info(f'quiet info from {rank}')
    out = buffer.getvalue()
    assert (f'info from {rank}' in out) == (rank == 0)
    assert f'error from {rank}' in out  # errors of every rank reach the terminal
    if rank == 0:
        assert logger.log_file == f'{log_dir}/run.log'
        assert quiet.log_file == f'{log_dir}/quiet.log'
    else:
        assert logger.log_file == f'{log_dir}/run_rank1.log'
        assert quiet.log_file is None


@pytest.mark.dist
def test_only_rank_zero_prints_and_other_ranks_log_when_distributed(tmp_path):
    run_on_ranks(_check_rank_filtering, world_size=2, args=(str(tmp_path),))
    assert 'info from 0' in (tmp_path / 'run.log').read_text()
    rank1 = (tmp_path / 'run_rank1.log').read_text()
    assert 'info from 1' in rank1 and 'info from 0' not in rank1
    assert 'quiet info from 0' in (tmp_path / 'quiet.log').read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ['quiet.log', 'run.log',
                                                          'run_rank1.log']


class _Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    """A clock the test moves; the background flush is pushed out of the way (an hour)."""
    import mmengine.logging.logger as logger_module
    fake = _Clock()
    monkeypatch.setattr(logger_module, '_clock', fake)
    monkeypatch.setattr(logger_module, 'FLUSH_INTERVAL', 3600.0)
    monkeypatch.setattr(logger_module, '_DEFERRED', logger_module._Deferred())
    return fake


def _messages(path):
    return [LINE.match(line).group(2) for line in path.read_text().splitlines()]


def test_info_lines_to_a_file_are_flushed_at_most_once_per_interval(tmp_path, clock, capsys):
    log_file = tmp_path / 'run.log'
    logger = MMLogger.get_instance('deferred', log_file=str(log_file))
    logger.info('first')  # nothing flushed yet: written at once
    logger.info('second')
    logger.info('third')
    assert _messages(log_file) == ['first']
    clock.now += 3600.0  # FLUSH_INTERVAL later, the next line flushes everything
    logger.info('fourth')
    assert _messages(log_file) == ['first', 'second', 'third', 'fourth']
    logger.info('fifth')
    logger.warning('sixth')  # a warning is flushed at once, with the lines before it
    assert _messages(log_file) == ['first', 'second', 'third', 'fourth', 'fifth', 'sixth']
    logger.info('seventh')
    for handler in logger.handlers:  # what the runner does when a run ends
        handler.flush()
    assert _messages(log_file)[-1] == 'seventh'
    # the terminal (captured, not a TTY) received every line in order
    out = [LINE.match(line).group(2) for line in capsys.readouterr().out.splitlines()]
    assert out == ['first', 'second', 'third', 'fourth', 'fifth', 'sixth', 'seventh']


class _Stream(io.StringIO):
    tty = False

    def __init__(self):
        super().__init__()
        self.flushes = 0

    def isatty(self):
        return self.tty

    def flush(self):
        self.flushes += 1


class _TTY(_Stream):
    tty = True


def test_a_terminal_gets_every_line_flushed(monkeypatch, clock):
    tty = _TTY()
    monkeypatch.setattr(sys, 'stdout', tty)
    logger = MMLogger.get_instance('tty')
    for i in range(5):
        logger.info(f'line {i}')
    assert tty.flushes == 5 and tty.getvalue().count('INFO - line') == 5
    assert '\033[' not in tty.getvalue()  # INFO is never colored
    plain = _Stream()
    logger.handlers[0].setStream(plain)  # flushes the terminal; the new stream defers again
    logger.info('a')
    logger.info('b')
    assert plain.getvalue().count('INFO - ') == 2 and plain.flushes == 0
    clock.now += 3600.0
    logger.info('c')
    assert plain.flushes == 1 and tty.flushes == 6


def test_deferred_lines_are_flushed_before_a_fork(tmp_path, clock):
    import os
    log_file = tmp_path / 'fork.log'
    logger = MMLogger.get_instance('fork', log_file=str(log_file))
    logger.info('one')
    logger.info('two')
    assert _messages(log_file) == ['one']
    pid = os.fork()
    if pid == 0:  # a child flushing its copy of the handler must not write 'two' again
        logger.handlers[1].stream.flush()
        os._exit(0)
    os.waitpid(pid, 0)
    logger.handlers[1].flush()
    assert _messages(log_file) == ['one', 'two']


def test_formatter_output_is_the_documented_format():
    fmt = logging.Formatter('%(asctime)s - %(name)s - INFO - %(message)s',
                            datefmt='%Y/%m/%d %H:%M:%S')
    ours = MMFormatter(color=False)
    for created in (1_700_000_000.2, 1_700_000_000.9, 1_700_000_001.0, 946_684_799.5):
        record = logging.LogRecord('mmengine', logging.INFO, 'p', 1, 'loss: %.4f', (0.5,), None)
        record.created = created
        reference = logging.LogRecord('mmengine', logging.INFO, 'p', 1, 'loss: %.4f', (0.5,),
                                      None)
        reference.created = created
        assert ours.format(record) == fmt.format(reference)
        assert (record.message, record.asctime) == (reference.message, reference.asctime)
    import time
    ours.converter = time.gmtime  # a converter change is honoured within the same second
    record.created = 946_684_799.5
    assert ours.format(record).startswith('1999/12/31 23:59:59 - mmengine - INFO - ')


def test_deferred_lines_reach_the_file_within_the_interval_without_new_lines(tmp_path,
                                                                             monkeypatch):
    import time

    import mmengine.logging.logger as logger_module
    monkeypatch.setattr(logger_module, 'FLUSH_INTERVAL', 0.05)
    monkeypatch.setattr(logger_module, '_DEFERRED', logger_module._Deferred())
    log_file = tmp_path / 'bg.log'
    logger = MMLogger.get_instance('background', log_file=str(log_file))
    for i in range(20):  # the first is flushed, most of the others are deferred
        logger.info(f'line {i}')
    deadline = time.monotonic() + 10
    while len(_messages(log_file)) < 20 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _messages(log_file) == [f'line {i}' for i in range(20)]
    assert logger_module._DEFERRED.thread.daemon


def test_background_flush_requeues_after_each_flush_and_keeps_a_handler_being_written(
        tmp_path, clock):
    import mmengine.logging.logger as logger_module
    log_file = tmp_path / 'requeue.log'
    logger = MMLogger.get_instance('requeue', log_file=str(log_file))
    logger.info('first')  # due: written and flushed
    logger.info('second')  # deferred: the handler is queued for the background flush
    pending = logger_module._DEFERRED
    assert logger.handlers[1] in pending.handlers
    pending.flush()  # what the background thread does one interval later
    assert _messages(log_file) == ['first', 'second']
    logger.info('third')  # deferred again: queued again
    assert logger.handlers[1] in pending.handlers
    state = logger.handlers[1]._mmengine_deferred
    state.deferring = True  # as if another thread were writing a line right now
    pending.flush()
    assert logger.handlers[1] in pending.handlers  # skipped, so kept for the next round
    state.deferring = False
    pending.flush()
    assert _messages(log_file) == ['first', 'second', 'third']
