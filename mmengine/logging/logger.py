"""``MMLogger``: a named, rank-aware logger, and ``print_log``.

Terminal lines look like ``2022/08/22 15:51:53 - mmengine - INFO - message``. In a distributed
run only rank 0 writes INFO/WARNING lines to the terminal (errors of every rank still show),
and ranks other than 0 write a log file of their own only when ``distributed=True``.

Flushing: a terminal gets every line at once, and so does every WARNING or higher line
(with the lines before it). INFO/DEBUG lines to the log file, or to a stdout that is not a
terminal (a pipe, a redirected file), are flushed at most once per ``FLUSH_INTERVAL``
(1 s): they reach the file with the next line logged after the interval, or from a
background thread one interval after they were written, whichever comes first; and in any
case by ``handler.flush()``, before the process forks, and at interpreter exit
(``logging.shutdown``). A process killed hard (SIGKILL, ``os._exit``) can therefore lose
the INFO lines of its last second. Set ``mmengine.logging.logger.FLUSH_INTERVAL = 0`` to
flush every line.
"""
from __future__ import annotations

import logging
import logging.handlers
import math
import os
import sys
import threading
import time
import weakref
from typing import Any

from mmengine.utils.manager import ManagerMixin

_DATE_FORMAT = '%Y/%m/%d %H:%M:%S'
_COLORS = {'WARNING': '\033[33m', 'ERROR': '\033[31m', 'CRITICAL': '\033[31m'}
_RESET = '\033[0m'
_BLINK = '\033[5m'
_FILE_HANDLERS = ('FileHandler', 'RotatingFileHandler', 'TimedRotatingFileHandler',
                  'WatchedFileHandler')

#: Seconds between two flushes of a non-terminal handler for INFO/DEBUG lines.
FLUSH_INTERVAL = 1.0
_clock = time.monotonic  # tests replace it to move time forward


class _DeferredFlush:
    """Installed on one handler: after an INFO/DEBUG line, flush only when due.

    A flush is a system call (a ``write`` of the buffered text), which costs more than
    building the line; deferring it lets a burst of lines share one. The handler's own
    ``emit`` calls ``self.flush()`` after writing: while a line is being deferred that call
    is skipped, and any other ``flush()`` flushes. The handler keeps its standard class
    (code checking ``type(handler) is logging.StreamHandler`` still works): ``emit`` and
    ``flush`` are replaced on the instance.
    """

    def __init__(self, handler: logging.StreamHandler) -> None:
        self.handler = handler
        self.emit_now = handler.emit
        self.flush_now = handler.flush
        self.deferring = False
        self.queued = False  # handed to the background flush since the last flush
        self.last_flush = -math.inf
        self.tty_stream: Any = None  # the stream last checked with isatty(), and the answer
        self.tty = False
        handler.emit = self.emit  # type: ignore[method-assign]
        handler.flush = self.flush  # type: ignore[method-assign]
        handler._mmengine_deferred = self  # type: ignore[attr-defined]

    def _due(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING or _clock() - self.last_flush >= FLUSH_INTERVAL:
            return True
        stream = getattr(self.handler, 'stream', None)
        if stream is not self.tty_stream:  # a terminal is flushed after every line
            self.tty_stream, self.tty = stream, _is_tty(stream)
        return self.tty

    def emit(self, record: logging.LogRecord) -> None:
        if self._due(record):
            self.emit_now(record)
            return
        self.deferring = True
        if not self.queued:
            self.queued = True
            _DEFERRED.add(self.handler)
        try:
            self.emit_now(record)
        finally:
            self.deferring = False

    def flush(self) -> None:
        # Under the handler's (reentrant) lock: the background flush must not see
        # ``deferring`` of a line being written by another thread.
        with self.handler.lock:  # type: ignore[union-attr]
            if not self.deferring:
                self.queued = False
                self.flush_now()
                self.last_flush = _clock()


def _is_tty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


class _Deferred:
    """The handlers holding deferred lines, and the daemon thread that flushes them
    ``FLUSH_INTERVAL`` after the first of them (so no line waits for the next one)."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:  # also in a forked child: the thread and locks are gone there
        self.lock = threading.Lock()
        self.handlers: weakref.WeakSet = weakref.WeakSet()
        self.wake = threading.Event()
        self.thread: threading.Thread | None = None

    def add(self, handler: logging.Handler) -> None:
        with self.lock:
            self.handlers.add(handler)
        if not self.wake.is_set():
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name='mmengine-log-flush',
                                               daemon=True)
                self.thread.start()
            self.wake.set()

    def flush(self) -> None:
        """Flush every handler holding deferred lines."""
        with self.lock:
            handlers, self.handlers = list(self.handlers), weakref.WeakSet()
        for handler in handlers:
            try:
                handler.flush()
            except Exception:  # noqa: BLE001 - a closed stream must not stop the others
                pass
            deferred = getattr(handler, '_mmengine_deferred', None)
            if deferred is not None and deferred.queued:  # skipped: a line was being written
                self.add(handler)

    def _run(self) -> None:
        while True:
            self.wake.wait()
            time.sleep(FLUSH_INTERVAL)
            self.wake.clear()
            self.flush()


_DEFERRED = _Deferred()


def _flush_before_fork() -> None:
    # So that no child inherits (and later writes) a copy of the deferred lines.
    _DEFERRED.flush()


def _reset_in_child() -> None:
    _DEFERRED._reset()


if hasattr(os, 'register_at_fork'):
    os.register_at_fork(before=_flush_before_fork, after_in_child=_reset_in_child)


def _rank_and_world_size() -> tuple[int, int]:
    """Rank and world size of the default process group, or ``(0, 1)`` without one.

    ``mmengine.dist`` sits in a higher layer, so the logger asks ``torch.distributed``
    directly (imported lazily to keep ``mmengine.logging`` cheap to import).
    """
    if 'torch' not in sys.modules:
        return 0, 1
    import torch.distributed as torch_dist
    if torch_dist.is_available() and torch_dist.is_initialized():
        return torch_dist.get_rank(), torch_dist.get_world_size()
    return 0, 1


class FilterDuplicateWarning(logging.Filter):
    """Drop a WARNING record whose message was already logged once by this filter.

    Args:
        name: Name of the filter (passed to :class:`logging.Filter`).
    """

    def __init__(self, name: str = 'mmengine') -> None:
        super().__init__(name)
        self.seen: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        """Return False for a repeated warning message, True otherwise."""
        if record.levelno != logging.WARNING:
            return True
        message = record.getMessage()
        if message in self.seen:
            return False
        self.seen.add(message)
        return True


class MMFormatter(logging.Formatter):
    """Formatter producing ``time - logger name - LEVEL - message`` lines.

    Errors also name the source location. With ``color=True`` the level name of warnings and
    errors is colored with ANSI codes (use it for terminals only).

    Args:
        color: Whether to color the level names of warnings and errors.
        blink: Whether errors also blink (only with ``color=True``).
        **kwargs: Forwarded to :class:`logging.Formatter` (``datefmt`` defaults to
            ``'%Y/%m/%d %H:%M:%S'``).
    """

    def __init__(self, color: bool = True, blink: bool = False, **kwargs: Any) -> None:
        kwargs.setdefault('datefmt', _DATE_FORMAT)
        super().__init__(**kwargs)
        self.color = color
        self.blink = blink
        # One formatter per level name, built on first use; format() never mutates shared
        # state, so threads logging at once cannot swap each other's formats.
        self._formatters: dict[str, logging.Formatter] = {}
        self._levels: dict[str, str] = {}
        self._datefmt = kwargs['datefmt']
        self._time_cache: tuple[int, Any, str] = (-1, None, '')

    def _level_name(self, levelname: str) -> str:
        if not self.color or levelname not in _COLORS:
            return levelname
        blink = _BLINK if self.blink and levelname != 'WARNING' else ''
        return f'{_COLORS[levelname]}{blink}{levelname}{_RESET}'

    def _formatter_for(self, record: logging.LogRecord) -> logging.Formatter:
        formatter = self._formatters.get(record.levelname)
        if formatter is None:
            fmt = f'%(asctime)s - %(name)s - {self._level_name(record.levelname)} - '
            if record.levelno >= logging.ERROR:
                fmt += '%(pathname)s - %(funcName)s - %(lineno)d - '
            formatter = logging.Formatter(fmt + '%(message)s', datefmt=self._datefmt)
            self._formatters[record.levelname] = formatter
        return formatter

    def _asctime(self, created: float) -> str:
        # Lines come in bursts within one second: the formatted time is reused while the
        # second (and the converter) stay the same.
        second, converter, text = self._time_cache
        if int(created) != second or self.converter is not converter:
            text = time.strftime(self._datefmt, self.converter(created))
            self._time_cache = (int(created), self.converter, text)
        return text

    def format(self, record: logging.LogRecord) -> str:
        """Format ``record`` as one line (plus a traceback when it carries one)."""
        if (record.levelno >= logging.ERROR or record.exc_info or record.exc_text
                or record.stack_info):
            return self._formatter_for(record).format(record)
        # The common case, built directly: the same text as the level's logging.Formatter
        # (which sets ``message`` and ``asctime`` on the record too), at a fraction of the
        # cost of its generic %-formatting.
        level = self._levels.get(record.levelname)
        if level is None:
            level = self._levels[record.levelname] = self._level_name(record.levelname)
        record.message = message = record.getMessage()
        record.asctime = asctime = self._asctime(record.created)
        return f'{asctime} - {record.name} - {level} - {message}'


def _build_file_handler(log_file: str, file_mode: str,
                        file_handler_cfg: dict | None) -> logging.Handler:
    cfg = dict(file_handler_cfg or {})
    handler_type = cfg.pop('type', 'FileHandler')
    if handler_type not in _FILE_HANDLERS:
        raise ValueError(f'file_handler_cfg type must be one of {_FILE_HANDLERS}, but got '
                         f'{handler_type!r}.')
    handler_cls = getattr(logging.handlers, handler_type, None) or logging.FileHandler
    if handler_type in ('FileHandler', 'RotatingFileHandler', 'WatchedFileHandler'):
        cfg.setdefault('mode', file_mode)
    directory = os.path.dirname(os.path.abspath(log_file))
    os.makedirs(directory, exist_ok=True)
    handler = handler_cls(log_file, **cfg)
    _DeferredFlush(handler)
    return handler


def _rank_log_file(log_file: str, rank: int) -> str:
    stem, suffix = os.path.splitext(log_file)
    return f'{stem}_rank{rank}{suffix}'


class MMLogger(logging.Logger, ManagerMixin):
    """A logger that is also a named global instance (see :class:`ManagerMixin`).

    Each instance owns its handlers and does not propagate to Python's root logger, so two
    instances with the same ``logger_name`` never duplicate each other's lines. INFO/DEBUG
    lines to the log file and to a non-terminal stdout are flushed at most once per
    ``FLUSH_INTERVAL`` (1 s; see the module docstring); call ``handler.flush()`` on
    :attr:`handlers` to write them out at once.

    Args:
        name: Name of the global instance (``MMLogger.get_instance(name)``).
        logger_name: Name printed in each line. Defaults to ``'mmengine'``.
        log_file: Path of a log file; ``None`` logs to the terminal only. In a distributed run
            rank 0 writes this file; other ranks write ``<stem>_rank<r><suffix>`` only when
            ``distributed=True``.
        log_level: Level name (``'INFO'``, ``'DEBUG'``...) or number. Defaults to ``'INFO'``.
        file_mode: ``'w'`` truncates the file, ``'a'`` appends. Defaults to ``'w'``.
        distributed: Whether ranks other than 0 write their own log files.
        file_handler_cfg: Optional handler config, e.g.
            ``dict(type='RotatingFileHandler', maxBytes=1 << 20, backupCount=3)``.

    Examples:
        >>> logger = MMLogger.get_instance('doc-logger', log_level='WARNING')
        >>> logger.level == logging.WARNING
        True
    """

    def __init__(self, name: str, logger_name: str = 'mmengine', log_file: str | None = None,
                 log_level: int | str = 'INFO', file_mode: str = 'w', distributed: bool = False,
                 file_handler_cfg: dict | None = None) -> None:
        logging.Logger.__init__(self, logger_name)
        ManagerMixin.__init__(self, name)
        if file_mode not in ('w', 'a'):
            raise ValueError(f"file_mode must be 'w' or 'a', but got {file_mode!r}.")
        level = logging._checkLevel(log_level.upper() if isinstance(log_level, str)
                                    else log_level)
        self.propagate = False
        rank, _ = _rank_and_world_size()
        stream = logging.StreamHandler(stream=sys.stdout)
        _DeferredFlush(stream)
        stream.setFormatter(MMFormatter(color=_is_tty(sys.stdout)))
        # Other ranks would repeat rank 0's lines; only their errors reach the terminal.
        stream.setLevel(level if rank == 0 else logging.ERROR)
        stream.addFilter(FilterDuplicateWarning(logger_name))
        self.handlers.append(stream)
        self._log_file: str | None = None
        if log_file is not None and (rank == 0 or distributed):
            if rank != 0:
                log_file = _rank_log_file(log_file, rank)
            handler = _build_file_handler(log_file, file_mode, file_handler_cfg)
            handler.setFormatter(MMFormatter(color=False))
            handler.setLevel(level)
            handler.addFilter(FilterDuplicateWarning(logger_name))
            self.handlers.append(handler)
            self._log_file = log_file
        self.setLevel(level)

    @property
    def log_file(self) -> str | None:
        """Path of the file this process writes, or ``None``."""
        return self._log_file

    @classmethod
    def get_current_instance(cls) -> MMLogger:
        """Return the latest instance, creating a default ``'mmengine'`` one if there is none."""
        if not cls._instance_dict:
            cls.get_instance('mmengine')
        return super().get_current_instance()

    def callHandlers(self, record: logging.LogRecord) -> None:
        """Pass ``record`` to this logger's own handlers (no propagation to parents)."""
        for handler in self.handlers:
            if record.levelno >= handler.level:
                handler.handle(record)

    def setLevel(self, level: int | str) -> None:
        """Set the level and clear the cache Python keeps of enabled levels."""
        self.level = logging._checkLevel(level)
        self._cache.clear()

    def isEnabledFor(self, level: int) -> bool:
        """Whether a record of ``level`` would be handled, ``logging.disable()`` included.

        ``logging.disable`` clears the cache of enabled levels only for the loggers of
        ``logging.getLogger``; an instance of this class is not one of them, so the disabled
        level is checked here before the cache is consulted.
        """
        if self.manager.disable >= level:
            return False
        return logging.Logger.isEnabledFor(self, level)


def print_log(msg: Any, logger: logging.Logger | str | None = None,
              level: int = logging.INFO) -> None:
    """Print ``msg`` or send it to a logger.

    Args:
        msg: The message.
        logger: ``None`` prints to stdout; ``'silent'`` drops the message; ``'current'`` uses
            ``MMLogger.get_current_instance()``; another string names an existing
            :class:`MMLogger` instance; a :class:`logging.Logger` is used as is.
        level: Logging level, e.g. ``logging.WARNING``. Defaults to ``logging.INFO``.

    Raises:
        ValueError: If ``logger`` names an MMLogger that has not been created.
        TypeError: If ``logger`` has another type.
    """
    if logger is None:
        print(msg)
        return
    if logger == 'silent':
        return
    if logger == 'current':
        logger = MMLogger.get_current_instance()
    elif isinstance(logger, str):
        if not MMLogger.check_instance_created(logger):
            raise ValueError(f'print_log got logger={logger!r}, but no MMLogger of that name '
                             "exists. Create it with MMLogger.get_instance(name) or pass "
                             "'current', 'silent' or None.")
        logger = MMLogger._instance_dict[logger]
    if not isinstance(logger, logging.Logger):
        raise TypeError('print_log logger must be None, a logging.Logger, "silent", "current" '
                        f'or an MMLogger name, but got {type(logger).__name__}: {logger!r}.')
    logger.log(level, msg)
