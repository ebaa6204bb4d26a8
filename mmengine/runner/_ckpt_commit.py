"""Crash-consistent local checkpoint writes, committed at once or by a background thread.

Every local write streams into a temporary file beside its target, named
``.<target name>.<random>.tmp`` (a dot name, so no checkpoint scan ever picks it up), and is
then *committed*: the file is fsynced, renamed over the target and the directory fsynced. A
process killed at any moment therefore leaves the previous file or the complete new one under
the target's name, never a truncated one.

Synchronous writes (the default) hash the bytes while they stream and commit before
returning. Inside :func:`deferred_commit` (the CheckpointHook enters it around its saves
during training) a save only streams the checkpoint into the temporary file and returns; a
committer thread then reads the file back (from the page cache, through one reused buffer)
to hash it, commits it, and runs the scope's callbacks, so the hook's bookkeeping (manifest,
``last_checkpoint``, deleting old checkpoints) happens only once the new file is durable. No
second copy of the checkpoint is held in memory.

At most one commit is in flight: every save, load and checkpoint lookup first calls
:func:`wait_for_checkpoint_commits`, which keeps the order of saves, bounds the memory and
re-raises (once) a failed commit that no callback handled. The committer thread is not a
daemon, so the interpreter lets a pending commit finish before it exits.
"""
from __future__ import annotations

import atexit
import hashlib
import os
import os.path as osp
import re
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable, Generator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, NoReturn


class CheckpointSaveError(OSError):
    """Writing a checkpoint failed (disk full, permission denied, ...); nothing was left
    under the checkpoint's name and earlier checkpoints are untouched."""


# Users import it from mmengine.runner.checkpoint; tracebacks should name that module.
CheckpointSaveError.__module__ = 'mmengine.runner.checkpoint'


class _HashingWriter:
    """File wrapper that counts (and, with ``hashing``, SHA-256 hashes) the bytes as
    ``torch.save`` streams them, so a synchronous save needs no second read of the file."""

    def __init__(self, file: Any, hashing: bool = True) -> None:
        self._file = file
        self._sha = hashlib.sha256() if hashing else None
        self.size = 0
        self.sequential = True  # a seek would make the streamed digest wrong
        self.error: BaseException | None = None

    def write(self, data: Any) -> int:
        try:
            written = self._file.write(data)
            if self._sha is not None:
                self._sha.update(data)
            self.size += memoryview(data).nbytes
        except BaseException as exc:  # remembered: torch re-raises it as a RuntimeError
            self.error = exc
            raise
        return written

    def flush(self) -> None:
        self._file.flush()

    def seek(self, offset: int, whence: int = 0) -> int:
        self.sequential = False
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()

    def hexdigest(self) -> str | None:
        return None if self._sha is None else self._sha.hexdigest()


# Digests of files this process wrote: path -> (size, mtime_ns or None, sha256).
_DIGESTS: dict[str, tuple[int, int | None, str]] = {}
_MAX_DIGESTS = 256


def _remember_digest(path: str, size: int, mtime_ns: int | None, sha256: str) -> None:
    _DIGESTS.pop(path, None)
    _DIGESTS[path] = (size, mtime_ns, sha256)
    while len(_DIGESTS) > _MAX_DIGESTS:
        _DIGESTS.pop(next(iter(_DIGESTS)))


def _free_space(directory: str) -> str:
    while not osp.isdir(directory) and osp.dirname(directory) != directory:
        directory = osp.dirname(directory)  # the nearest existing ancestor's file system
    try:
        free = shutil.disk_usage(directory).free
    except OSError:
        return 'free space unknown'
    return f'{free / 2**20:.1f} MiB free'


def _fsync_dir(directory: str) -> None:
    """Make a rename in ``directory`` durable (no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _interrupt_in(exc: BaseException) -> BaseException | None:
    """A ``SystemExit``/``KeyboardInterrupt`` that ``exc`` is or arose from, if any."""
    for _ in range(16):
        if not isinstance(exc, Exception):
            return exc
        if exc.__context__ is None:
            return None
        exc = exc.__context__
    return None


def _save_error(filename: str, directory: str, cause: BaseException) -> CheckpointSaveError:
    reason = getattr(cause, 'strerror', None) or f'{type(cause).__name__}: {cause}'
    error = CheckpointSaveError(
        f'Could not write {filename}: {reason} ({_free_space(directory)} in {directory}). '
        f'Nothing was written under that name and earlier checkpoints are intact; free disk '
        f'space, fix the permissions or choose another directory.')
    error.errno = getattr(cause, 'errno', None)
    return error


def _reraise(exc: BaseException, writer: _HashingWriter | None, filename: str,
             directory: str) -> NoReturn:
    """Re-raise a failed write: a swallowed signal exit as itself, OS errors as
    :class:`CheckpointSaveError` naming the file and the free space."""
    cause = writer.error if writer is not None and writer.error is not None else exc
    interrupt = _interrupt_in(cause)
    if interrupt is not None and interrupt is not exc:
        raise interrupt from None  # a signal handler's SystemExit, which torch swallowed
    if isinstance(cause, OSError) and not isinstance(cause, CheckpointSaveError):
        raise _save_error(filename, directory, cause) from exc
    raise exc


class _TempFile:
    """The temporary file beside ``filename`` that becomes it once committed."""

    def __init__(self, filename: str) -> None:
        self.directory = osp.dirname(osp.abspath(filename))
        os.makedirs(self.directory, exist_ok=True)
        fd, self.path = tempfile.mkstemp(prefix=f'.{osp.basename(filename)}.', suffix='.tmp',
                                         dir=self.directory)
        self.fd: int | None = fd
        try:
            os.fchmod(fd, 0o666 & ~_umask())  # mkstemp creates 0600; honour the umask instead
            self.created_ns = os.fstat(fd).st_mtime_ns
        except BaseException:
            self.discard()
            raise

    def close(self) -> None:
        if self.fd is not None:
            fd, self.fd = self.fd, None
            os.close(fd)

    def discard(self) -> None:
        """Close and delete the temporary file (a failed or abandoned write)."""
        try:
            self.close()
        except OSError:
            pass
        try:
            os.remove(self.path)
        except OSError:
            pass

    def commit(self, filename: str) -> None:
        """fsync, rename over ``filename``, fsync the directory."""
        assert self.fd is not None, 'internal: the temporary file was already closed'
        os.fsync(self.fd)
        self.close()
        os.replace(self.path, filename)
        _fsync_dir(self.directory)


def _stream(filename: str, write: Callable[[Any], None],
            hashing: bool) -> tuple[_TempFile, _HashingWriter]:
    """Run ``write(file)`` into a new temporary file beside ``filename`` (left open)."""
    directory = osp.dirname(osp.abspath(filename))
    temp = writer = None
    try:
        temp = _TempFile(filename)
        with os.fdopen(temp.fd, 'wb', closefd=False) as file:  # type: ignore[arg-type]
            writer = _HashingWriter(file, hashing)
            write(writer)
        return temp, writer
    except BaseException as exc:
        if temp is not None:
            temp.discard()
        _reraise(exc, writer, filename, directory)


def _atomic_local_write(filename: str, write: Callable[[Any], None]) -> _HashingWriter:
    """Stream ``write(file)`` into a temporary file beside ``filename``, fsync it, then rename.

    A crash or signal at any moment leaves the old file or the new one under ``filename``,
    never a partial one; the temporary file is removed on every Python-level failure.

    Raises:
        CheckpointSaveError: If the directory cannot be created or written (disk full,
            file-size limit, permission denied); the message names the path and free space.
    """
    temp, writer = _stream(filename, write, hashing=True)
    try:
        temp.commit(filename)
    except BaseException as exc:
        temp.discard()
        _reraise(exc, None, filename, temp.directory)
    return writer


# ------------------------------------------------------------------ deferred commits
# Temporary files of checkpoints and of the pointer/manifest files, as _TempFile names them.
_STALE_TEMP = re.compile(r'^\.(?:.+\.pth|last_checkpoint|last_checkpoint\.json)'
                         r'\.[a-z0-9_]{8}\.tmp$')
_READ_CHUNK = 4 << 20
_read_buffer: bytearray | None = None  # reused by every commit (one runs at a time)


def _hash_temp(fd: int) -> tuple[int, str]:
    """Size and SHA-256 of the (just written, so page-cached) file behind ``fd``."""
    global _read_buffer
    if _read_buffer is None:
        _read_buffer = bytearray(_READ_CHUNK)
    view = memoryview(_read_buffer)
    sha, size = hashlib.sha256(), 0
    with open(fd, 'rb', buffering=0, closefd=False) as raw:
        raw.seek(0)
        while True:
            count = raw.readinto(view)
            if not count:
                return size, sha.hexdigest()
            sha.update(view[:count])
            size += count


def _remove_stale_temps(directory: str, before_ns: int) -> None:
    """Delete our own temporary files older than ``before_ns`` (left by a killed process)."""
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        if _STALE_TEMP.match(name) is None:
            continue
        path = osp.join(directory, name)
        try:
            if os.stat(path).st_mtime_ns < before_ns:
                os.remove(path)
        except OSError:
            continue


def _commit_file(temp: _TempFile, filename: str) -> None:
    """The committer thread's work: hash, fsync, rename, fsync the directory, then tidy up."""
    size, digest = _hash_temp(temp.fd)  # type: ignore[arg-type]
    temp.commit(filename)
    # The file is in place and durable: nothing below may fail the commit.
    try:
        _remember_digest(osp.abspath(filename), size, os.stat(filename).st_mtime_ns, digest)
    except OSError:
        pass
    _remove_stale_temps(temp.directory, temp.created_ns)


_Callback = Callable[[], None]
_ErrorCallback = Callable[[BaseException], bool]


class _Commit:
    """One deferred commit: its thread, its outcome and the callbacks waiting for it."""

    def __init__(self, filename: str, temp: _TempFile) -> None:
        self.filename = filename
        self.temp = temp
        self.error: BaseException | None = None
        self.handled = False
        self._done = False
        self._callbacks: list[tuple[_Callback | None, _ErrorCallback | None]] = []
        self._lock = threading.Lock()
        # Not a daemon: the interpreter lets the commit finish before the process exits.
        self.thread = threading.Thread(target=self._run, name='mmengine-checkpoint-commit')

    def _run(self) -> None:
        try:
            _commit_file(self.temp, self.filename)
        except BaseException as exc:
            self.temp.discard()
            error = exc
            if not isinstance(exc, CheckpointSaveError):
                error = _save_error(self.filename, self.temp.directory, exc)
                error.__cause__ = exc
            self.error = error
        with self._lock:
            self._done = True
            callbacks, self._callbacks = self._callbacks, []
        for on_committed, on_failed in callbacks:
            try:
                self._notify(on_committed, on_failed)
            except BaseException as exc:  # committed, but its bookkeeping failed: report it
                if self.error is None or self.handled:
                    self.error, self.handled = exc, False

    def _notify(self, on_committed: _Callback | None, on_failed: _ErrorCallback | None) -> None:
        if self.error is None:
            if on_committed is not None:
                on_committed()
        elif on_failed is not None and on_failed(self.error):
            self.handled = True

    def add_callbacks(self, on_committed: _Callback | None,
                      on_failed: _ErrorCallback | None) -> None:
        """Run the callbacks once the commit is done (now, in this thread, if it is)."""
        with self._lock:
            if not self._done:
                self._callbacks.append((on_committed, on_failed))
                return
        self._notify(on_committed, on_failed)


_pending: _Commit | None = None
_claim_lock = threading.Lock()
# The scope's commits (a list, so the save can append); None: saves commit synchronously.
_scope: ContextVar[list[_Commit] | None] = ContextVar('mmengine_deferred_commit',
                                                      default=None)


def deferring() -> bool:
    """Whether local saves in this context are committed by the background thread."""
    return _scope.get() is not None


@contextmanager
def deferred_commit(on_committed: _Callback | None = None,
                    on_failed: _ErrorCallback | None = None) -> Generator[None, None, None]:
    """Let the local checkpoint saves made inside return before they are committed.

    The callbacks run once the last commit started inside is done (in the committer thread,
    or at once when nothing was deferred: a remote backend, a rank that wrote nothing). If
    the block raises, they do not run.

    Args:
        on_committed: Called after the file is renamed into place and durable.
        on_failed: Called with the :class:`CheckpointSaveError` of a failed commit; return
            True when it is handled, so that no later wait re-raises it.
    """
    commits: list[_Commit] = []
    token = _scope.set(commits)
    try:
        yield
    finally:
        _scope.reset(token)
    if commits:
        commits[-1].add_callbacks(on_committed, on_failed)
    elif on_committed is not None:
        on_committed()


def start_deferred_write(filename: str, write: Callable[[Any], None]) -> None:
    """Stream ``write(file)`` into a temporary file and leave the commit to a thread (call
    it inside :func:`deferred_commit`, after :func:`wait_for_checkpoint_commits`).

    Raises:
        CheckpointSaveError: If the temporary file cannot be created or written.
    """
    global _pending
    commits = _scope.get()
    assert commits is not None, 'internal: start_deferred_write outside deferred_commit'
    temp, _ = _stream(filename, write, hashing=False)
    commit = _Commit(filename, temp)
    try:
        commit.thread.start()
    except BaseException:
        temp.discard()
        raise
    _pending = commit
    commits.append(commit)


def wait_for_checkpoint_commits() -> None:
    """Wait until the pending deferred checkpoint commit (if any) and its callbacks are done.

    Called before every save, load and checkpoint lookup; a no-op when nothing is pending
    and inside the committer thread itself.

    Raises:
        CheckpointSaveError: If the commit failed and no ``on_failed`` callback handled it
            (raised once; the message names the file). An exception raised by a callback
            after a successful commit is re-raised as it is.
    """
    global _pending
    commit = _pending
    if commit is None or commit.thread is threading.current_thread():
        return
    commit.thread.join()
    with _claim_lock:
        if _pending is not commit:  # another thread claimed it
            return
        _pending = None
    if commit.error is not None and not commit.handled:
        raise commit.error


def _report_unclaimed() -> None:
    """At exit: the committer has finished (not a daemon); say if it failed unseen."""
    commit = _pending
    if commit is None or commit.thread.ident is None:
        return
    commit.thread.join()
    if commit.error is not None and not commit.handled:
        print(f'mmengine: a checkpoint commit failed after training stopped waiting for it: '
              f'{commit.error}', file=sys.stderr)


def _forget_in_child() -> None:
    """A forked child (a dataloader worker) has no committer thread and must not wait."""
    global _pending, _claim_lock
    _pending = None
    _claim_lock = threading.Lock()


atexit.register(_report_unclaimed)
if hasattr(os, 'register_at_fork'):
    os.register_at_fork(after_in_child=_forget_in_child)
