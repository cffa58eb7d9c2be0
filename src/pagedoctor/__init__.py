"""pagedoctor: find out why a Django site is slow, with evidence, the fix, and proof it works."""

from __future__ import annotations

from pagedoctor.capture.events import CacheEvent, CallSite, QueryEvent, TemplateEvent, TemplateSite
from pagedoctor.capture.recording import Recording, arecord, record
from pagedoctor.exceptions import AuditError, PagedoctorError

__version__ = "0.1.0.dev0"

__all__ = [
    "AuditError",
    "CacheEvent",
    "CallSite",
    "PagedoctorError",
    "QueryEvent",
    "Recording",
    "TemplateEvent",
    "TemplateSite",
    "arecord",
    "record",
]
