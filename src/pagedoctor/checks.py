"""System checks for the ``PAGEDOCTOR`` setting and for configuration that hurts speed or safety.

Each id is documented in ``docs/checks.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register

from pagedoctor import conf

MIDDLEWARE = "pagedoctor.middleware.PagedoctorMiddleware"

# Middleware that may query the database or the cache: pagedoctor must come before them to see it.
_WORKING_MIDDLEWARE = (
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.cache.UpdateCacheMiddleware",
    "django.middleware.cache.FetchFromCacheMiddleware",
    "django.middleware.locale.LocaleMiddleware",
)


@register()
def check_settings(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[CheckMessage]:
    """pagedoctor.E001: every ``PAGEDOCTOR`` key is known and has a valid value."""
    return [
        Error(
            problem,
            hint="Fix the value in settings.PAGEDOCTOR; docs/settings.md lists each key.",
            id="pagedoctor.E001",
        )
        for problem in conf.problems()
    ]


@register()
def check_middleware_order(
    app_configs: Sequence[AppConfig] | None, **kwargs: Any
) -> list[CheckMessage]:
    """pagedoctor.W001: the middleware comes before middleware that queries."""
    middleware = list(getattr(settings, "MIDDLEWARE", []) or [])
    if MIDDLEWARE not in middleware:
        return []
    position = middleware.index(MIDDLEWARE)
    before = [m for m in middleware[:position] if m in _WORKING_MIDDLEWARE]
    if not before:
        return []
    return [
        Warning(
            f"{MIDDLEWARE} comes after {', '.join(before)}, so the queries and cache calls "
            "they make are not recorded or timed.",
            hint=f"Move {MIDDLEWARE!r} to the top of MIDDLEWARE.",
            id="pagedoctor.W001",
        )
    ]


@register()
def check_server_timing(
    app_configs: Sequence[AppConfig] | None, **kwargs: Any
) -> list[CheckMessage]:
    """pagedoctor.W002: timings are not sent to everybody in production."""
    user = getattr(settings, "PAGEDOCTOR", {})
    if not isinstance(user, dict) or user.get("SERVER_TIMING") != "always" or settings.DEBUG:
        return []
    return [
        Warning(
            'PAGEDOCTOR["SERVER_TIMING"] is "always" with DEBUG off: every visitor sees how long '
            "your database and cache take, which helps timing attacks.",
            hint='Use "debug" (DEBUG or staff users only), or "never".',
            id="pagedoctor.W002",
        )
    ]


@register()
def check_session_serializer(
    app_configs: Sequence[AppConfig] | None, **kwargs: Any
) -> list[CheckMessage]:
    """pagedoctor.E002: sessions are not serialized with pickle."""
    serializer = str(getattr(settings, "SESSION_SERIALIZER", ""))
    if "pickle" not in serializer.lower():
        return []
    return [
        Error(
            f"SESSION_SERIALIZER is {serializer!r}. Unpickling session data lets anyone who "
            "learns or guesses SECRET_KEY run code on your server; Django removed "
            "PickleSerializer in 5.0 for that reason. It does not make sessions faster.",
            hint="Use 'django.contrib.sessions.serializers.JSONSerializer' (the default) and "
            "store only JSON-serializable values in sessions. For speed, change SESSION_ENGINE "
            "to 'django.contrib.sessions.backends.cached_db' instead.",
            id="pagedoctor.E002",
        )
    ]


# Session engines that read the session from the database or a file on every request that uses
# it (and write it back when it changed).
_STORED_SESSION_ENGINES = {
    "django.contrib.sessions.backends.db": "database",
    "django.contrib.sessions.backends.file": "file system",
}
SESSION_MIDDLEWARE = "django.contrib.sessions.middleware.SessionMiddleware"


@register(deploy=True)
def check_session_engine(
    app_configs: Sequence[AppConfig] | None, **kwargs: Any
) -> list[CheckMessage]:
    """pagedoctor.W003: sessions are not read from the database or disk on every request."""
    engine = str(getattr(settings, "SESSION_ENGINE", ""))
    where = _STORED_SESSION_ENGINES.get(engine)
    if where is None or SESSION_MIDDLEWARE not in list(getattr(settings, "MIDDLEWARE", []) or []):
        return []
    return [
        Warning(
            f"SESSION_ENGINE is {engine!r}: every request that uses the session (any page that "
            f"reads request.user) reads it from the {where}, and writes it back when it changed.",
            hint="Use 'django.contrib.sessions.backends.cached_db' (reads from the cache, "
            "writes through to the database), or 'django.contrib.sessions.backends.cache' with "
            "a persistent cache such as Redis in SESSION_CACHE_ALIAS. Keep the JSON session "
            "serializer: a pickle serializer is no faster and lets SECRET_KEY run code.",
            id="pagedoctor.W003",
        )
    ]
