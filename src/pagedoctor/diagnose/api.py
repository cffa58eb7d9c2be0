"""``pagedoctor.diagnose()``: the findings of one recording."""

from __future__ import annotations

from pagedoctor.capture.recording import Recording
from pagedoctor.diagnose.duplicates import find_duplicates
from pagedoctor.diagnose.findings import Finding
from pagedoctor.diagnose.nplusone import THRESHOLD, find_n_plus_one


def diagnose(recording: Recording, *, threshold: int = THRESHOLD) -> list[Finding]:
    """Return what wastes queries in ``recording``: N+1 queries, then duplicate queries."""
    return [*find_n_plus_one(recording, threshold=threshold), *find_duplicates(recording)]
