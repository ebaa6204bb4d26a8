"""Helpers shared by the config tests."""
from __future__ import annotations

import textwrap
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / 'data' / 'config'


def write(path: str | Path, text: str) -> Path:
    """Write dedented ``text`` to ``path`` (relative to the test's working directory)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path
