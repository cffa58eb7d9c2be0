"""pagedoctor: find out why a Django site is slow, with evidence, the fix, and proof it works."""

from __future__ import annotations

from pagedoctor.cache import (
    aget_or_compute,
    ainvalidate,
    cache_view,
    cached,
    get_or_compute,
    invalidate,
)
from pagedoctor.cache.fragments import invalidate_fragment
from pagedoctor.capture.events import CacheEvent, CallSite, QueryEvent, TemplateEvent, TemplateSite
from pagedoctor.capture.recording import Recording, arecord, record

# `diagnose` and `strict` are also sub-modules; binding the functions here, after the modules
# are imported, makes `pagedoctor.diagnose(...)` and `pagedoctor.strict(...)` the functions.
from pagedoctor.diagnose.api import diagnose
from pagedoctor.diagnose.findings import Finding, Fix, Verification, Where
from pagedoctor.exceptions import (
    AuditError,
    CacheKeyError,
    DuplicateQueryError,
    NPlusOneError,
    PagedoctorError,
    QueryWasteError,
    ScalingError,
)
from pagedoctor.strict import assert_no_scaling, strict

__version__ = "0.1.0.dev0"

__all__ = [
    "AuditError",
    "CacheEvent",
    "CacheKeyError",
    "CallSite",
    "DuplicateQueryError",
    "Finding",
    "Fix",
    "NPlusOneError",
    "PagedoctorError",
    "QueryEvent",
    "QueryWasteError",
    "Recording",
    "ScalingError",
    "TemplateEvent",
    "TemplateSite",
    "Verification",
    "Where",
    "aget_or_compute",
    "ainvalidate",
    "arecord",
    "assert_no_scaling",
    "cache_view",
    "cached",
    "diagnose",
    "get_or_compute",
    "invalidate",
    "invalidate_fragment",
    "record",
    "strict",
]
