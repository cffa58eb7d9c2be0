"""pagedoctor's exceptions.

::

    PagedoctorError          anything pagedoctor raises on purpose
     └── AuditError          the audit cannot run as asked (bad URL file, unknown settings module)

Bad settings raise Django's ``ImproperlyConfigured`` and are reported by system checks.
"""

from __future__ import annotations


class PagedoctorError(Exception):
    """Base class for pagedoctor's errors."""


class AuditError(PagedoctorError):
    """The audit cannot run as asked; the message says what to change."""
