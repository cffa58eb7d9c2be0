"""Group the SELECTs that recordings saw by shape, with the pages that ran each one."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from pagedoctor.capture.events import QueryEvent
from pagedoctor.capture.recording import Recording
from pagedoctor.indexes.statements import is_single_select


@dataclass
class Shape:
    """Every run of one SELECT shape on one database, and the pages it ran on."""

    alias: str
    vendor: str
    fingerprint: str
    events: list[QueryEvent] = field(default_factory=list)
    pages: list[str] = field(default_factory=list)

    @property
    def slowest(self) -> QueryEvent:
        """Return the slowest run: its parameters are the ones EXPLAIN and the timings use."""
        return max(self.events, key=lambda e: e.duration_ms)

    @property
    def total_ms(self) -> float:
        return sum(e.duration_ms for e in self.events)


def select_shapes(recordings: Iterable[tuple[str, Recording]]) -> list[Shape]:
    """Return the single-SELECT shapes of ``recordings`` (page, recording), costliest first.

    Writes, ``executemany`` calls, failed statements and anything that is not one plain SELECT
    are left out here, before anything is sent to the database.
    """
    shapes: dict[tuple[str, str], Shape] = {}
    for page, recording in recordings:
        for event in recording.queries:
            if event.many or event.error is not None:
                continue
            if not is_single_select(event.sql, event.vendor):
                continue
            key = (event.alias, event.fingerprint)
            shape = shapes.setdefault(key, Shape(event.alias, event.vendor, event.fingerprint))
            shape.events.append(event)
            if page not in shape.pages:
                shape.pages.append(page)
    return sorted(shapes.values(), key=lambda s: s.total_ms, reverse=True)
