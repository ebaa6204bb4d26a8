"""``python -m mmengine`` runs the command line (same as the ``mmengine`` console script)."""
from __future__ import annotations

import sys

from ._cli import main

if __name__ == '__main__':
    sys.exit(main())
