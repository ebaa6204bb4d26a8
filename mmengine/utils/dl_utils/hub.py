"""Download checkpoints from URLs into the torch hub cache."""
from __future__ import annotations

from typing import Any

import torch


def load_url(url: str, model_dir: str | None = None, map_location: Any = None,
             progress: bool = True, check_hash: bool = False,
             file_name: str | None = None) -> dict:
    """Download (once) and load a checkpoint of plain data from a URL.

    Files are cached under ``model_dir`` (default ``$TORCH_HOME/hub/checkpoints``). Loading
    uses ``weights_only=True``: checkpoints holding arbitrary Python objects are refused.

    Args:
        url: The checkpoint URL.
        model_dir: Cache directory.
        map_location: Passed to ``torch.load``.
        progress: Show a download progress bar.
        check_hash: Check that the file name's hash prefix matches its SHA256.
        file_name: Cached file name; defaults to the URL's last component.
    """
    return torch.hub.load_state_dict_from_url(url, model_dir=model_dir,
                                              map_location=map_location, progress=progress,
                                              check_hash=check_hash, file_name=file_name,
                                              weights_only=True)
