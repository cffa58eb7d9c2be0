"""Count what pagedoctor's caches do, per cache alias: for the process and for recordings.

The counts are ``hits``, ``misses``, ``stale`` (a previous value served while another process
recomputes), ``bypassed`` (not served: the transaction wrote what the value read), ``unstored``
(computed but not stored, see the log at DEBUG for why), ``invalidations`` (tags bumped) and
``lock_waits``.
"""

from __future__ import annotations

import threading
from collections import Counter

from pagedoctor.capture.recording import active_now

KINDS = ("hits", "misses", "stale", "bypassed", "unstored", "invalidations", "lock_waits")

_lock = threading.Lock()
_totals: dict[str, Counter[str]] = {}


def count(alias: str, kind: str, n: int = 1) -> None:
    """Add ``n`` to ``kind`` for the cache ``alias``, in the process and active recordings."""
    with _lock:
        _totals.setdefault(alias, Counter())[kind] += n
    for recording in active_now():
        recording.treatments.setdefault(alias, Counter())[kind] += n


def totals() -> dict[str, dict[str, int]]:
    """Return the process's counts so far, per cache alias."""
    with _lock:
        return {alias: {k: counts[k] for k in KINDS} for alias, counts in _totals.items()}


def reset() -> None:
    """Forget the process's counts (tests)."""
    with _lock:
        _totals.clear()
