"""``--user``: audit the pages as an existing user sees them, logged in with the test client.

The login happens before any page is requested and outside every recording, so no page's
numbers include it. It writes what Django's login writes (a session, ``last_login``); the
session is deleted at the end and ``last_login`` put back, so the data is as it was found.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from pagedoctor.capture.recording import suspended
from pagedoctor.exceptions import AuditError


@contextmanager
def logged_in(client: Client, username: str | None) -> Iterator[None]:
    """Keep ``client`` logged in as ``username`` inside the block; do nothing for None."""
    if not username:
        yield
        return
    with suspended():
        user = find_user(username)
        last_login = getattr(user, "last_login", None)
        client.force_login(user)
        if hasattr(user, "last_login"):
            type(user)._default_manager.filter(pk=user.pk).update(last_login=last_login)
    try:
        yield
    finally:
        with suspended():
            client.logout()


def find_user(username: str) -> Any:
    """Return the active user whose username is ``username``, or say how to get one."""
    from django.contrib.auth import get_user_model

    try:
        model = get_user_model()
    except (ImproperlyConfigured, LookupError) as exc:
        raise AuditError(
            f"--user needs Django's auth app ({exc}); add 'django.contrib.auth' to INSTALLED_APPS"
        ) from exc
    field = model.USERNAME_FIELD
    try:
        user = model._default_manager.get(**{field: username})
    except model.DoesNotExist:
        raise AuditError(
            f"--user {username!r}: no {model._meta.label} has {field} {username!r}; "
            "pass the username of an existing user (python manage.py createsuperuser makes one)"
        ) from None
    if not getattr(user, "is_active", True):
        raise AuditError(
            f"--user {username!r} is inactive (is_active=False), so the site would not log it in; "
            "pass an active user"
        )
    return user
