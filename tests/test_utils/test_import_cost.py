"""``mmengine.utils`` and ``mmengine.fileio`` must stay cheap to import."""
from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ['torch', 'rich', 'fsspec', 'urllib.request', 'multiprocessing.pool', 'numpy']

SCRIPT = f"""
import json, sys
import mmengine
before = set(sys.modules)
import mmengine.utils, mmengine.fileio
added = set(sys.modules) - before
print(json.dumps(sorted(m for m in {HEAVY!r} if m in added)))
"""


def test_utils_and_fileio_import_no_heavy_modules():
    out = subprocess.run([sys.executable, '-c', SCRIPT], capture_output=True, text=True,
                         check=True, timeout=120).stdout
    assert json.loads(out.strip().splitlines()[-1]) == []
