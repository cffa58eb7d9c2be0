"""pagedoctor: find out why a Django site is slow, with evidence, the fix, and proof it works."""

from __future__ import annotations

from pagedoctor.capture.events import CacheEvent, CallSite, QueryEvent, TemplateEvent, TemplateSite
from pagedoctor.capture.recording import Recording, arecord, record

# Bound after the sub-package is imported, so `pagedoctor.diagnose` is the function users call.
from pagedoctor.diagnose.api import diagnose
from pagedoctor.diagnose.findings import Finding, Fix, Verification, Where
from pagedoctor.exceptions import AuditError, PagedoctorError

__version__ = "0.1.0.dev0"

__all__ = [
    "AuditError",
    "CacheEvent",
    "CallSite",
    "Finding",
    "Fix",
    "PagedoctorError",
    "QueryEvent",
    "Recording",
    "TemplateEvent",
    "TemplateSite",
    "Verification",
    "Where",
    "arecord",
    "diagnose",
    "record",
]
