"""pagedoctor's exceptions.

::

    PagedoctorError              anything pagedoctor raises on purpose
     ├── AuditError              the audit cannot run as asked (bad URL file, unknown settings)
     ├── CacheKeyError           an argument of a cached function cannot be part of its key
     ├── CapacityError           pagedoctor capacity cannot measure (pagedoctor.capacity.errors)
     └── QueryWasteError         strict mode or a test found wasted queries (an AssertionError)
          ├── NPlusOneError      a relation or query loaded once per row
          ├── DuplicateQueryError  the same query run again with the same parameters
          └── ScalingError       the number of queries grows with the number of rows

Bad settings raise Django's ``ImproperlyConfigured`` and are reported by system checks.
"""

from __future__ import annotations


class PagedoctorError(Exception):
    """Base class for pagedoctor's errors."""


class AuditError(PagedoctorError):
    """The audit cannot run as asked; the message says what to change."""


class CacheKeyError(PagedoctorError, TypeError):
    """An argument of a cached function or fragment cannot be part of a cache key."""


class QueryWasteError(PagedoctorError, AssertionError):
    """Queries were wasted where the code promised they would not be."""


class NPlusOneError(QueryWasteError):
    """A relation or a query ran once per row of a collection."""


class DuplicateQueryError(QueryWasteError):
    """The same query ran more than once with the same parameters."""


class ScalingError(QueryWasteError):
    """The number of queries grew with the number of rows."""
