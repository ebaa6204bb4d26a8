"""``MMLogger``: a named, rank-aware logger, and ``print_log``.

Terminal lines look like ``2022/08/22 15:51:53 - mmengine - INFO - message``. In a distributed
run only rank 0 writes INFO/WARNING lines to the terminal (errors of every rank still show),
and ranks other than 0 write a log file of their own only when ``distributed=True``.
"""
from __future__ import annotations

import logging
import logging.handlers
import os
import sys
from typing import Any

from mmengine.utils.manager import ManagerMixin

_DATE_FORMAT = '%Y/%m/%d %H:%M:%S'
_COLORS = {'WARNING': '\033[33m', 'ERROR': '\033[31m', 'CRITICAL': '\033[31m'}
_RESET = '\033[0m'
_BLINK = '\033[5m'
_FILE_HANDLERS = ('FileHandler', 'RotatingFileHandler', 'TimedRotatingFileHandler',
                  'WatchedFileHandler')


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
        self._datefmt = kwargs['datefmt']

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

    def format(self, record: logging.LogRecord) -> str:
        """Format ``record`` as one line (plus a traceback when it carries one)."""
        return self._formatter_for(record).format(record)


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
    return handler_cls(log_file, **cfg)


def _rank_log_file(log_file: str, rank: int) -> str:
    stem, suffix = os.path.splitext(log_file)
    return f'{stem}_rank{rank}{suffix}'


class MMLogger(logging.Logger, ManagerMixin):
    """A logger that is also a named global instance (see :class:`ManagerMixin`).

    Each instance owns its handlers and does not propagate to Python's root logger, so two
    instances with the same ``logger_name`` never duplicate each other's lines.

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
        is_tty = hasattr(sys.stdout, 'isatty') and sys.stdout.isatty()
        stream.setFormatter(MMFormatter(color=is_tty))
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
