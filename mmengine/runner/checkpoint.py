"""Checkpoint files: safe loading, crash-consistent saving, and state-dict helpers.

Loading is safe by default: every ``torch.load`` runs with ``weights_only=True`` (plus an
allow-list of numpy types), so a checkpoint cannot execute code. Files that need arbitrary
unpickling are refused with an error explaining the opt-in (``unsafe_load=True`` or the
environment variable ``MMENGINE_UNSAFE_LOAD=1``).

Saving streams the checkpoint into a temporary file in the target directory, fsyncs it and
renames it over the final name, so a crash leaves the previous file or the new one, never a
truncated file under a checkpoint name. Inside :func:`deferred_commit` (the CheckpointHook's
saves during training) the fsync, hashing and rename happen in a background thread; every
save, load and lookup here first waits for it (:func:`wait_for_checkpoint_commits`). The
mechanics live in ``_ckpt_commit``.
"""
from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import os.path as osp
import pickle
import re
from collections import OrderedDict
from collections.abc import Callable, Generator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import numpy as np
import torch
import torch.nn as nn

from ..fileio import get_file_backend
from ..logging import print_log
from ..model import is_model_wrapper
from ._ckpt_commit import (  # noqa: F401
    _DIGESTS,
    CheckpointSaveError,
    _atomic_local_write,
    _HashingWriter,
    _remember_digest,
    deferred_commit,
    deferring,
    start_deferred_write,
    wait_for_checkpoint_commits,
)

_UNSAFE_ENV = 'MMENGINE_UNSAFE_LOAD'
_unsafe: ContextVar[bool] = ContextVar('mmengine_unsafe_load', default=False)


class CorruptCheckpointError(RuntimeError):
    """A checkpoint file cannot be read: it is truncated, corrupt or not a checkpoint."""


def _numpy_safe_globals() -> list:
    """numpy types that a plain-data checkpoint may contain (arrays, dtypes, scalars)."""
    core = getattr(np, '_core', None) or np.core
    found: list = [np.ndarray, np.dtype, core.multiarray._reconstruct, core.multiarray.scalar]
    found.extend(v for v in vars(np.dtypes).values() if isinstance(v, type))
    return found


@contextmanager
def _unsafe_loading(enabled: bool) -> Generator[None, None, None]:
    token = _unsafe.set(enabled or _unsafe.get())
    try:
        yield
    finally:
        _unsafe.reset(token)


def _unsafe_allowed() -> bool:
    return _unsafe.get() or os.environ.get(_UNSAFE_ENV, '') in ('1', 'true', 'True')


def _torch_load(source: Any, map_location: Any, name: str) -> Any:
    """``torch.load`` with ``weights_only=True`` unless unsafe loading was opted into.

    Raises:
        pickle.UnpicklingError: If the file needs arbitrary unpickling (says how to opt in).
        CorruptCheckpointError: If the file is truncated, corrupt or not a torch file.
    """
    try:
        if _unsafe_allowed():
            return torch.load(source, map_location=map_location, weights_only=False)
        with torch.serialization.safe_globals(_numpy_safe_globals()):
            return torch.load(source, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        if 'Unsupported global' not in str(exc):  # garbage, not a disallowed class
            raise _corrupt(name, exc) from exc
        raise pickle.UnpicklingError(
            f'Refusing to load {name}: it contains objects that need arbitrary unpickling, which '
            f'can execute code hidden in the file ({exc}). Only load such files from sources '
            f'you trust, with load_checkpoint(..., unsafe_load=True) or the environment '
            f'variable {_UNSAFE_ENV}=1.') from exc
    except EOFError as exc:
        raise _corrupt(name, exc) from exc
    except RuntimeError as exc:
        # Only the archive reader's failures mean a bad file; others (a CUDA map_location on
        # a CPU machine, ...) are about the environment and pass through unchanged.
        if 'PytorchStreamReader' not in str(exc) and 'zip archive' not in str(exc):
            raise
        raise _corrupt(name, exc) from exc


def _corrupt(name: str, exc: BaseException) -> CorruptCheckpointError:
    return CorruptCheckpointError(
        f'Cannot read the checkpoint {name}: it is truncated, corrupt or not a PyTorch file '
        f'({type(exc).__name__}: {exc}). Use an earlier checkpoint or save it again.')


def weights_to_cpu(state_dict: dict) -> OrderedDict:
    """Return a copy of ``state_dict`` with every tensor moved to the CPU."""
    cpu = OrderedDict((key, value.cpu() if isinstance(value, torch.Tensor) else value)
                      for key, value in state_dict.items())
    metadata = getattr(state_dict, '_metadata', None)
    if metadata is not None:
        cpu._metadata = metadata  # type: ignore[attr-defined]
    return cpu


def _unwrap(module: nn.Module) -> nn.Module:
    while is_model_wrapper(module):
        module = module.module
    return module


def get_state_dict(module: nn.Module, destination: dict | None = None, prefix: str = '',
                   keep_vars: bool = False) -> dict:
    """The state dict of ``module`` with model wrappers (DDP, ...) unwrapped."""
    module = _unwrap(module)
    if destination is None:
        destination = OrderedDict()
    return module.state_dict(destination=destination, prefix=prefix, keep_vars=keep_vars)


def _split_shape_mismatches(module: nn.Module, state_dict: dict) -> tuple[dict, list[str]]:
    own = module.state_dict()
    kept, mismatched = OrderedDict(), []
    for key, value in state_dict.items():
        target = own.get(key)
        if (isinstance(value, torch.Tensor) and isinstance(target, torch.Tensor)
                and value.shape != target.shape):
            mismatched.append(f'{key}: checkpoint {tuple(value.shape)}, '
                              f'model {tuple(target.shape)}')
        else:
            kept[key] = value
    return kept, mismatched


def load_state_dict(module: nn.Module, state_dict: dict, strict: bool = False,
                    logger: logging.Logger | str | None = None) -> None:
    """Load ``state_dict`` into ``module``, reporting missing, unexpected and mismatched keys.

    With ``strict=False`` mismatches are logged as a warning and the matching entries are
    loaded; with ``strict=True`` a ``RuntimeError`` lists them all.
    """
    module = _unwrap(module)
    kept, mismatched = _split_shape_mismatches(module, state_dict)
    result = module.load_state_dict(kept, strict=False)
    problems = []
    if result.unexpected_keys:
        problems.append(f'unexpected keys in the checkpoint: {", ".join(result.unexpected_keys)}')
    if result.missing_keys:
        problems.append(f'keys missing from the checkpoint: {", ".join(result.missing_keys)}')
    if mismatched:
        problems.append(f'shape mismatches (not loaded): {"; ".join(mismatched)}')
    if not problems:
        return
    message = 'The model and the loaded state dict do not match exactly:\n' + '\n'.join(problems)
    if strict:
        raise RuntimeError(message)
    print_log(message, logger=logger if logger is not None else 'current',
              level=logging.WARNING)


class CheckpointLoader:
    """Choose a loader function by the filename's scheme prefix (``http://``, ...)."""

    _schemes: dict[str, Callable] = {}

    @classmethod
    def _register_scheme(cls, prefixes: str | list[str] | tuple, loader: Callable,
                         force: bool = False) -> None:
        prefixes = [prefixes] if isinstance(prefixes, str) else list(prefixes)
        for prefix in prefixes:
            if prefix in cls._schemes and not force:
                raise KeyError(f'{prefix!r} already has a checkpoint loader '
                               f'({cls._schemes[prefix].__name__}); pass force=True to replace '
                               f'it.')
            cls._schemes[prefix] = loader
        # Longest prefix first so 'openmmlab://' wins over a shorter match.
        cls._schemes = dict(sorted(cls._schemes.items(), key=lambda kv: -len(kv[0])))

    @classmethod
    def register_scheme(cls, prefixes: str | list[str] | tuple, loader: Callable | None = None,
                        force: bool = False) -> Callable:
        """Register ``loader(filename, map_location)`` for ``prefixes``; usable as a
        decorator when ``loader`` is None."""
        if loader is not None:
            cls._register_scheme(prefixes, loader, force=force)
            return loader

        def _register(fn: Callable) -> Callable:
            cls._register_scheme(prefixes, fn, force=force)
            return fn

        return _register

    @classmethod
    def _get_checkpoint_loader(cls, path: str) -> Callable:
        for prefix, loader in cls._schemes.items():
            if re.match(prefix, path) is not None:
                return loader
        return load_from_local

    @classmethod
    def load_checkpoint(cls, filename: str, map_location: Any = None,
                        logger: logging.Logger | str = 'current') -> Any:
        """Load a checkpoint with the loader registered for its scheme."""
        wait_for_checkpoint_commits()  # the file may still be on its way to disk
        loader = cls._get_checkpoint_loader(str(filename))
        print_log(f'Loads checkpoint by {loader.__name__[10:]} backend from path: {filename}',
                  logger=logger, level=logging.DEBUG)
        return loader(str(filename), map_location)


def load_from_local(filename: str, map_location: Any) -> Any:
    """Load a local checkpoint (``.safetensors`` through the safetensors package)."""
    wait_for_checkpoint_commits()
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'Checkpoint file {filename!r} does not exist.')
    if filename.endswith('.safetensors'):
        try:
            from safetensors.torch import load_file
        except ImportError as exc:
            raise ImportError(f'Loading {filename} needs the safetensors package: '
                              f'pip install safetensors') from exc
        device = map_location if isinstance(map_location, str) else 'cpu'
        return load_file(filename, device=device)
    return _torch_load(filename, map_location, filename)


def load_from_http(filename: str, map_location: Any = None, model_dir: str | None = None,
                   progress: bool = os.isatty(0)) -> Any:
    """Download (into torch.hub's cache) and load a checkpoint from an http(s) URL."""
    from torch.hub import load_state_dict_from_url
    return load_state_dict_from_url(filename, model_dir=model_dir, map_location=map_location,
                                    progress=progress, weights_only=not _unsafe_allowed())


def load_from_pavi(filename: str, map_location: Any = None) -> Any:
    """``pavi://`` checkpoints need the proprietary pavi client, which is not supported."""
    raise ImportError(f'Loading {filename} needs the pavi client, which mmengine-ng does not '
                      f'support; download the file and load it from a local path.')


def load_from_ceph(filename: str, map_location: Any = None, backend: str = 'petrel') -> Any:
    """Load a checkpoint through a fileio storage backend (petrel, fsspec, ...)."""
    backend_obj = get_file_backend(filename, backend_args=dict(backend=backend)
                                   if backend != 'petrel' else None)
    return _torch_load(io.BytesIO(backend_obj.get(filename)), map_location, filename)


def get_torchvision_models() -> dict[str, str]:
    """Map torchvision model names to the URL of their default weights."""
    try:
        import torchvision.models as tv_models
    except ImportError:
        return {}
    urls = {}
    for name in tv_models.list_models():
        weights = tv_models.get_model_weights(name)
        default = getattr(weights, 'DEFAULT', None)
        if default is not None:
            urls[name] = default.url
    return urls


def _user_model_index(file_name: str) -> dict[str, str]:
    home = os.environ.get('MMENGINE_HOME', osp.expanduser('~/.cache/mmengine'))
    path = osp.join(home, file_name)
    if not osp.isfile(path):
        return {}
    from ..fileio import load
    return dict(load(path))


def get_external_models() -> dict[str, str]:
    """Names usable with ``open-mmlab://`` (from ``$MMENGINE_HOME/open_mmlab.json``)."""
    return _user_model_index('open_mmlab.json')


def get_mmcls_models() -> dict[str, str]:
    """Names usable with ``mmcls://`` (from ``$MMENGINE_HOME/mmcls.json``)."""
    return _user_model_index('mmcls.json')


def get_deprecated_model_names() -> dict[str, str]:
    """Renamed ``open-mmlab://`` names (from ``$MMENGINE_HOME/deprecated.json``)."""
    return _user_model_index('deprecated.json')


def _load_named(filename: str, prefix_len: int, index: dict[str, str], map_location: Any,
                scheme: str) -> Any:
    name = filename[prefix_len:]
    if name not in index:
        raise KeyError(f'{scheme}{name} is unknown: no URL is recorded for {name!r}. Add it to '
                       f'the JSON index in $MMENGINE_HOME or use a URL or local path instead.')
    url = index[name]
    if url.startswith(('http://', 'https://')):
        return load_from_http(url, map_location=map_location)
    return load_from_local(url, map_location)


def load_from_torchvision(filename: str, map_location: Any = None) -> Any:
    """Load ``torchvision://<model name>`` weights."""
    return _load_named(filename, len('torchvision://'), get_torchvision_models(), map_location,
                       'torchvision://')


def load_from_openmmlab(filename: str, map_location: Any = None) -> Any:
    """Load ``open-mmlab://<name>`` / ``openmmlab://<name>`` weights from the user's index."""
    prefix = 'open-mmlab://' if filename.startswith('open-mmlab://') else 'openmmlab://'
    return _load_named(filename, len(prefix), get_external_models(), map_location, prefix)


def load_from_mmcls(filename: str, map_location: Any = None) -> Any:
    """Load ``mmcls://<name>`` weights from the user's index."""
    return _load_named(filename, len('mmcls://'), get_mmcls_models(), map_location, 'mmcls://')


CheckpointLoader.register_scheme(prefixes=('http://', 'https://'), loader=load_from_http)
CheckpointLoader.register_scheme(prefixes='pavi://', loader=load_from_pavi)
CheckpointLoader.register_scheme(prefixes=r'(\S+\:)?s3://', loader=load_from_ceph)
CheckpointLoader.register_scheme(prefixes=('torchvision://', 'modelzoo://'),
                                 loader=load_from_torchvision)
CheckpointLoader.register_scheme(prefixes=('open-mmlab://', 'openmmlab://'),
                                 loader=load_from_openmmlab)
CheckpointLoader.register_scheme(prefixes='mmcls://', loader=load_from_mmcls)


def _load_checkpoint(filename: str, map_location: Any = None, logger: Any = None,
                     unsafe_load: bool = False) -> Any:
    with _unsafe_loading(unsafe_load):
        return CheckpointLoader.load_checkpoint(filename, map_location, logger or 'current')


def _extract_state_dict(checkpoint: Any, filename: str) -> dict:
    if not isinstance(checkpoint, dict):
        raise RuntimeError(f'No state dict found in {filename}: it holds a '
                           f'{type(checkpoint).__name__}, not a dict.')
    state_dict = checkpoint.get('state_dict', checkpoint)
    return state_dict


def load_checkpoint(model: nn.Module, filename: str, map_location: Any = None,
                    strict: bool = False, logger: Any = None,
                    revise_keys: list = [(r'^module\.', '')],  # noqa: B006 - public signature
                    unsafe_load: bool = False) -> Any:
    """Load weights from a file or URL into ``model``.

    Args:
        model: The model (wrappers are unwrapped).
        filename: A local path, URL or ``scheme://`` name.
        map_location: Passed to ``torch.load``.
        strict: Raise on missing/unexpected/mismatched keys instead of warning.
        logger: Logger for the report.
        revise_keys: ``(pattern, replacement)`` regex substitutions applied to every key.
        unsafe_load: Allow arbitrary unpickling (only for files you trust).

    Returns:
        The loaded checkpoint (the whole dict).
    """
    checkpoint = _load_checkpoint(filename, map_location, logger, unsafe_load)
    state_dict = _extract_state_dict(checkpoint, filename)
    metadata = getattr(state_dict, '_metadata', OrderedDict())
    for pattern, replacement in revise_keys:
        state_dict = OrderedDict((re.sub(pattern, replacement, k), v)
                                 for k, v in state_dict.items())
    state_dict._metadata = metadata  # type: ignore[attr-defined]
    load_state_dict(model, state_dict, strict, logger)
    return checkpoint


def atomic_write_text(filename: str, text: str) -> None:
    """Replace the local text file ``filename`` atomically (temporary file, fsync, rename)."""
    wait_for_checkpoint_commits()  # a pending commit's callbacks may write the same file
    _atomic_local_write(filename, lambda file: file.write(text.encode('utf-8')))


def _atomic_local_save(checkpoint: dict, filename: str) -> None:
    def write(file: Any) -> None:
        torch.save(checkpoint, file)

    if deferring():
        start_deferred_write(filename, write)
        return
    writer = _atomic_local_write(filename, write)
    digest = writer.hexdigest()
    if writer.sequential and digest is not None:
        stat = os.stat(filename)
        _remember_digest(osp.abspath(filename), writer.size, stat.st_mtime_ns, digest)


def save_checkpoint(checkpoint: dict, filename: str, file_client_args: dict | None = None,
                    backend_args: dict | None = None) -> None:
    """Save ``checkpoint`` to ``filename``.

    Local files are written atomically (streamed to a temporary file, fsynced, renamed) and
    hashed while streaming (see :func:`checkpoint_integrity`); other backends get the bytes
    through fileio. The file is complete when this returns, except inside
    :func:`deferred_commit`, where the commit finishes in a background thread.

    Raises:
        CheckpointSaveError: If a local file cannot be written (disk full, permissions), or
            an earlier deferred commit failed unhandled.
    """
    wait_for_checkpoint_commits()  # one commit at a time, in order
    if file_client_args is not None:
        if backend_args is not None:
            raise ValueError('Pass backend_args only; file_client_args is its deprecated '
                             'predecessor and cannot be combined with it.')
        backend_args = file_client_args
    backend = get_file_backend(filename, backend_args=backend_args)
    if type(backend).__name__ == 'LocalBackend':
        _atomic_local_save(checkpoint, str(filename))
        return
    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    data = buffer.getvalue()
    backend.put(data, filename)
    _remember_digest(str(filename), len(data), None, hashlib.sha256(data).hexdigest())


def _sha256_of(path: str) -> str:
    sha = hashlib.sha256()
    with open(path, 'rb') as file:
        for chunk in iter(lambda: file.read(1 << 20), b''):
            sha.update(chunk)
    return sha.hexdigest()


def checkpoint_integrity(path: str) -> dict[str, Any] | None:
    """Size and SHA-256 of a checkpoint: from the digest computed while this process wrote
    it, else by reading a local file. None for remote files not written here and for
    directories (sharded checkpoints)."""
    wait_for_checkpoint_commits()
    key = str(path) if '://' in str(path) else osp.abspath(path)
    cached = _DIGESTS.get(key)
    if '://' in str(path):
        return None if cached is None else dict(size=cached[0], sha256=cached[2])
    if not osp.isfile(key):
        return None
    stat = os.stat(key)
    if cached is not None and cached[:2] == (stat.st_size, stat.st_mtime_ns):
        return dict(size=cached[0], sha256=cached[2])
    return dict(size=stat.st_size, sha256=_sha256_of(key))


LAST_CHECKPOINT = 'last_checkpoint'
MANIFEST = 'last_checkpoint.json'


def _is_regular_checkpoint_name(name: str) -> bool:
    """``*.pth`` files a resume may use: not temporary, best or published copies."""
    return (name.endswith('.pth') and not name.startswith(('.', 'best_'))
            and re.search(r'-[0-9a-f]{8}\.pth$', name) is None)


def _numbered(names: list[str]) -> list[str]:
    """``names`` sorted newest first by their last number (``epoch_10`` after ``epoch_9``)."""
    def _number(name: str) -> int:
        digits = re.findall(r'\d+', name)
        return int(digits[-1]) if digits else -1

    return sorted(names, key=lambda n: (_number(n), n), reverse=True)


def _read_pointer(path: str) -> str | None:
    pointer = osp.join(path, LAST_CHECKPOINT)
    if not osp.isfile(pointer):
        return None
    with open(pointer) as file:
        lines = file.read().strip().splitlines()
    return lines[0].strip() if lines and lines[0].strip() else None


def _existing(path: str, recorded: str) -> str | None:
    """``recorded`` if it exists, else the same file name inside ``path`` (a moved work_dir)."""
    if '://' in recorded or osp.exists(recorded):
        return recorded
    moved = osp.join(path, osp.basename(recorded))
    return moved if osp.exists(moved) else None


def find_latest_checkpoint(path: str) -> str | None:
    """The checkpoint named in ``path/last_checkpoint``, else the newest ``*.pth`` in ``path``.

    ``last_checkpoint`` holds one path (its first line is used). Scanning ignores best and
    published copies and temporary files.

    Returns:
        The path, or None when the directory holds no checkpoint.
    """
    wait_for_checkpoint_commits()
    last = _read_pointer(path)
    if last is not None:
        found = _existing(path, last)
        if found is not None:
            return found
    if not osp.isdir(path):
        return None
    candidates = _numbered([n for n in os.listdir(path) if _is_regular_checkpoint_name(n)])
    return osp.join(path, candidates[0]) if candidates else None


def read_manifest(work_dir: str) -> list[dict[str, Any]]:
    """The integrity records of ``work_dir/last_checkpoint.json``, oldest first.

    Each record has ``path``, ``size``, ``sha256`` (None when unknown), ``kind``
    (``'regular'`` or ``'best'``) and the ``epoch``/``iter`` it was saved at. A missing or
    unreadable manifest reads as empty.
    """
    wait_for_checkpoint_commits()
    manifest = osp.join(work_dir, MANIFEST)
    if not osp.isfile(manifest):
        return []
    try:
        with open(manifest) as file:
            records = json.load(file).get('checkpoints', [])
    except (OSError, ValueError, AttributeError):
        return []
    return [r for r in records if isinstance(r, dict) and isinstance(r.get('path'), str)]


def _write_manifest(work_dir: str, records: list[dict[str, Any]]) -> None:
    atomic_write_text(osp.join(work_dir, MANIFEST),
                      json.dumps({'format': 1, 'checkpoints': records}, indent=1))


def record_checkpoint(work_dir: str, path: str, kind: str = 'regular', *,
                      update_pointer: bool = True, **info: Any) -> dict[str, Any]:
    """Record ``path``'s size and SHA-256 in the manifest, then point ``last_checkpoint`` at it.

    Call it after the checkpoint was saved (renamed into place); both files are replaced
    atomically, manifest first, so ``last_checkpoint`` never names an unrecorded file.

    Args:
        work_dir: Directory holding ``last_checkpoint`` and ``last_checkpoint.json``.
        path: The saved checkpoint.
        kind: ``'regular'`` (resumable) or ``'best'``.
        update_pointer: Also rewrite ``last_checkpoint`` (regular checkpoints).
        **info: Extra plain fields stored in the record (``epoch``, ``iter``).
    """
    integrity = checkpoint_integrity(path) or dict(size=None, sha256=None)
    record = dict(path=str(path), kind=kind, **integrity, **info)
    records = [r for r in read_manifest(work_dir) if r['path'] != str(path)]
    records.append(record)
    _write_manifest(work_dir, records)
    if update_pointer:
        atomic_write_text(osp.join(work_dir, LAST_CHECKPOINT), str(path))
    return record


def forget_checkpoint(work_dir: str, path: str) -> None:
    """Drop ``path``'s record from the manifest (after the file was deleted)."""
    records = read_manifest(work_dir)
    kept = [r for r in records if r['path'] != str(path)]
    if len(kept) != len(records):
        _write_manifest(work_dir, kept)


def checkpoint_candidates(work_dir: str) -> list[tuple[str, dict[str, Any] | None]]:
    """Checkpoints a resume may use, newest first, each with its integrity record or None.

    Order: the ``last_checkpoint`` pointer's file, the other regular checkpoints of the
    manifest (newest first), then the remaining ``*.pth`` files of ``work_dir`` by number.
    """
    wait_for_checkpoint_commits()
    found: list[tuple[str, dict[str, Any] | None]] = []
    seen: set[str] = set()
    records = read_manifest(work_dir)
    by_path = {r['path']: r for r in records}

    def _add(path: str | None, record: dict[str, Any] | None) -> None:
        if path is not None and path not in seen:
            seen.add(path)
            found.append((path, record))

    pointer = _read_pointer(work_dir)
    if pointer is not None:
        _add(_existing(work_dir, pointer), by_path.get(pointer))
    for record in reversed(records):
        if record.get('kind', 'regular') == 'regular':
            _add(_existing(work_dir, record['path']), record)
    if osp.isdir(work_dir):
        names = [n for n in os.listdir(work_dir) if _is_regular_checkpoint_name(n)]
        for name in _numbered(names):
            _add(osp.join(work_dir, name), None)
    return found


def verify_checkpoint(path: str, record: dict[str, Any] | None) -> str | None:
    """Compare a local checkpoint with its integrity record.

    Returns:
        None when the file matches (or nothing was recorded), else what is wrong.
    """
    wait_for_checkpoint_commits()
    if record is None or '://' in path or not osp.isfile(path):
        return None
    size = os.stat(path).st_size
    if record.get('size') is not None and size != record['size']:
        return f'its size is {size} bytes but {record["size"]} were recorded (truncated?)'
    if record.get('sha256') and _sha256_of(path) != record['sha256']:
        return 'its SHA-256 differs from the one recorded when it was saved (corrupt)'
    return None
