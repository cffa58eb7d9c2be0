"""The errors ``pagedoctor capacity`` raises; each message names the problem and the fix.

::

    PagedoctorError
     └── CapacityError          the capacity run cannot go on as asked
          ├── LoopbackError     a host or URL that is not this machine's loopback
          ├── ServerError       gunicorn would not start, or is missing
          └── LoadError         wrk is missing or failed
"""

from __future__ import annotations

from pagedoctor.exceptions import PagedoctorError


class CapacityError(PagedoctorError):
    """The capacity run cannot go on as asked; the message says what to change."""


class LoopbackError(CapacityError):
    """A host or URL is not on this machine's loopback interface, where all load must stay."""


class ServerError(CapacityError):
    """The site's server could not be started (or is not installed)."""


class LoadError(CapacityError):
    """The load generator is missing or failed."""
