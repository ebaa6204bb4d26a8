"""The interface every storage backend implements."""
from __future__ import annotations

from abc import ABCMeta, abstractmethod
from pathlib import Path


class BaseStorageBackend(metaclass=ABCMeta):
    """A place files are read from and written to (local disk, object storage, ...).

    Subclasses must implement :meth:`get` and :meth:`get_text`; the path-level functions of
    :mod:`mmengine.fileio` call further methods (``put``, ``exists``, ``list_dir_or_file``, ...)
    when the backend offers them.
    """

    # Whether symlinks can be created in this storage (see ``copy_if_symlink_fails``).
    _allow_symlink = False

    @property
    def allow_symlink(self) -> bool:
        """Whether this storage supports symlinks."""
        return self._allow_symlink

    @property
    def name(self) -> str:
        """The backend's class name."""
        return self.__class__.__name__

    @abstractmethod
    def get(self, filepath: str | Path) -> bytes:
        """Read a file's bytes."""

    @abstractmethod
    def get_text(self, filepath: str | Path) -> str:
        """Read a file's text."""

    def copy_if_symlink_fails(self, src: str | Path, dst: str | Path) -> bool:
        """Link ``dst`` to ``src`` where the storage can; this default copies the file or tree
        (with the subclass's ``isfile``/``copyfile``/``copytree``) and returns False."""
        if self.isfile(src):  # type: ignore[attr-defined]
            self.copyfile(src, dst)  # type: ignore[attr-defined]
        else:
            self.copytree(src, dst)  # type: ignore[attr-defined]
        return False
