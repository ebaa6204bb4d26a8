"""Read-only access to files served over HTTP(S), using the standard library."""
from __future__ import annotations

import os
import tempfile
from collections.abc import Generator
from contextlib import contextmanager

from .base import BaseStorageBackend

# Seconds to wait for a server before giving up, so a dead host cannot hang a run.
_TIMEOUT = 60


class HTTPBackend(BaseStorageBackend):
    """Download files from ``http://`` and ``https://`` URLs (read only)."""

    def get(self, filepath: str) -> bytes:
        """Download a URL's bytes."""
        from urllib.request import urlopen  # lazy: pulls in http.client, ssl and email
        with urlopen(filepath, timeout=_TIMEOUT) as response:
            return response.read()

    def get_text(self, filepath: str, encoding: str = 'utf-8') -> str:
        """Download a URL's text."""
        return self.get(filepath).decode(encoding)

    @contextmanager
    def get_local_path(self, filepath: str) -> Generator[str, None, None]:
        """Download a URL to a temporary file, yield its path, and delete it afterwards."""
        fd, local = tempfile.mkstemp()
        try:
            with os.fdopen(fd, 'wb') as f:
                f.write(self.get(filepath))
            yield local
        finally:
            os.remove(local)
