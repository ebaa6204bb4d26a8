"""Logging: the rank-aware ``MMLogger``, ``print_log``, ``MessageHub`` and ``HistoryBuffer``."""
from .history_buffer import HistoryBuffer
from .logger import MMLogger, print_log
from .message_hub import MessageHub

__all__ = ['HistoryBuffer', 'MMLogger', 'MessageHub', 'print_log']
