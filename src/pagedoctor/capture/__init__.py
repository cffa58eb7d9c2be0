"""Recording: every SQL query, cache call and template render of a request or block."""

from __future__ import annotations

from pagedoctor.capture.events import CacheEvent, CallSite, QueryEvent, TemplateEvent, TemplateSite
from pagedoctor.capture.recording import Recording, active, arecord, record, suspended

__all__ = [
    "CacheEvent",
    "CallSite",
    "QueryEvent",
    "Recording",
    "TemplateEvent",
    "TemplateSite",
    "active",
    "arecord",
    "record",
    "suspended",
]
