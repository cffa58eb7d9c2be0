"""``pagedoctor.diagnose()``: the findings of one recording."""

from __future__ import annotations

from pagedoctor.capture.recording import Recording
from pagedoctor.conf import conf
from pagedoctor.diagnose.duplicates import find_duplicates
from pagedoctor.diagnose.findings import Finding
from pagedoctor.diagnose.nplusone import n_plus_one


def diagnose(recording: Recording, *, threshold: int | None = None) -> list[Finding]:
    """Return what wastes queries in ``recording``: N+1 queries, then duplicate queries.

    ``threshold`` is how many per-row loads make an N+1; by default
    ``PAGEDOCTOR["N_PLUS_ONE_THRESHOLD"]`` (2).
    """
    if threshold is None:
        threshold = conf.N_PLUS_ONE_THRESHOLD
    n_plus_ones, their_queries = n_plus_one(recording, threshold=threshold)
    return [*n_plus_ones, *find_duplicates(recording, skip=their_queries)]
