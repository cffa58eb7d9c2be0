"""Paths in reports: relative to the project root, as a developer would open them."""

from __future__ import annotations

import os
import sys
from functools import lru_cache


@lru_cache(maxsize=1024)
def relative_path(path: str) -> str:
    """Return ``path`` relative to the deepest import root holding it (the cwd or a sys.path entry).

    The project root is on ``sys.path`` (``manage.py`` puts it there), so ``shop/views.py``
    comes out as typed in an editor; for a ``src/`` layout the ``src`` folder is the root.
    """
    absolute = os.path.abspath(path)
    roots = {os.path.abspath(p) for p in (os.getcwd(), *sys.path) if p and os.path.isdir(p)}
    holders = [r for r in roots if absolute.startswith(r.rstrip(os.sep) + os.sep)]
    if not holders:
        return path
    return os.path.relpath(absolute, max(holders, key=len))
