"""The WSGI application ``pagedoctor capacity`` serves: the site's own, made safe to load.

gunicorn imports this module in its own process, with ``DJANGO_SETTINGS_MODULE`` set to the
site's settings; it serves the site's ``WSGI_APPLICATION`` (as ``runserver`` does), with the
host it binds allowed and real email swapped for Django's in-memory backend.
"""

from __future__ import annotations

import os
from typing import Any

import django
from django.test.utils import override_settings

from pagedoctor.capacity.safety import HOST_ENV, serving_overrides


def load_application() -> Any:
    """Set Django up, make the site safe to load, and return its WSGI application."""
    django.setup(set_prefix=False)
    from django.core.servers.basehttp import get_internal_wsgi_application

    # Enabled for the life of the process: it exists only to be measured.
    override_settings(**serving_overrides(os.environ.get(HOST_ENV, "127.0.0.1"))).enable()
    return get_internal_wsgi_application()


application = load_application()
