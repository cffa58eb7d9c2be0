"""The ``PAGEDOCTOR`` setting, read lazily: one typed property per key, its default beside it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

ServerTiming = Literal["debug", "always", "never"]

DEFAULTS: dict[str, Any] = {
    # Share of requests the middleware records, from 0 (none) to 1 (all).
    "SAMPLE_RATE": 1.0,
    # Who gets a Server-Timing header: "debug" (DEBUG or staff users), "always" or "never".
    "SERVER_TIMING": "debug",
    # Events one recording keeps at the most; the rest are counted as dropped.
    "MAX_EVENTS": 10_000,
    # URLs `pagedoctor audit` requests besides the routes it finds on its own.
    "AUDIT_URLS": [],
    # Path prefixes the middleware never records (static files are served elsewhere in production).
    "IGNORE_PATHS": ["/static/", "/media/", "/favicon.ico"],
    # Loads of one relation, one per row, that make an N+1 (2: the least that shows scaling).
    "N_PLUS_ONE_THRESHOLD": 2,
    # Findings strict mode and the pytest plugin let through: "app.Model.relation",
    # "path/to/file.py" or "path/to/file.py:42".
    "ALLOW": [],
    # The Django cache alias that holds pagedoctor's cached values and dependency versions.
    "CACHE": "default",
}


def _problem(key: str, value: Any) -> str | None:
    """Return what is wrong with ``value`` for ``key``, or None if it is fine."""
    checks: dict[str, tuple[Callable[[Any], bool], str]] = {
        "SAMPLE_RATE": (
            lambda v: isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v <= 1,
            "a number between 0 and 1",
        ),
        "SERVER_TIMING": (
            lambda v: v in ("debug", "always", "never"),
            '"debug", "always" or "never"',
        ),
        "MAX_EVENTS": (
            lambda v: isinstance(v, int) and not isinstance(v, bool) and v > 0,
            "a whole number above 0",
        ),
        "AUDIT_URLS": (
            lambda v: (
                isinstance(v, list | tuple)
                and all(isinstance(u, str) and u.startswith("/") for u in v)
            ),
            'a list of paths that start with "/"',
        ),
        "N_PLUS_ONE_THRESHOLD": (
            lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 2,
            "a whole number of at least 2",
        ),
        "ALLOW": (
            lambda v: isinstance(v, list | tuple) and all(isinstance(u, str) for u in v),
            'a list of strings like "shop.Pizza.toppings" or "shop/views.py:14"',
        ),
        "CACHE": (
            lambda v: isinstance(v, str) and bool(v),
            'the alias of a cache in CACHES, like "default"',
        ),
        "IGNORE_PATHS": (
            lambda v: isinstance(v, list | tuple) and all(isinstance(u, str) for u in v),
            "a list of path prefixes",
        ),
    }
    valid, expected = checks[key]
    if valid(value):
        return None
    return f"PAGEDOCTOR[{key!r}] must be {expected}, got {value!r}"


def problems() -> list[str]:
    """Return a sentence for each thing wrong with the ``PAGEDOCTOR`` setting."""
    user = getattr(settings, "PAGEDOCTOR", {})
    if not isinstance(user, dict):
        return [f"PAGEDOCTOR must be a dict, got {type(user).__name__}"]
    found = [
        f"PAGEDOCTOR has an unknown key {key!r}; the keys are {', '.join(sorted(DEFAULTS))}"
        for key in user
        if key not in DEFAULTS
    ]
    found += [p for key in DEFAULTS if key in user and (p := _problem(key, user[key]))]
    return found


class Conf:
    """Read ``settings.PAGEDOCTOR`` on each access, so ``override_settings`` takes effect."""

    def _get(self, key: str) -> Any:
        user = getattr(settings, "PAGEDOCTOR", {})
        if not isinstance(user, dict) or key not in user:
            return DEFAULTS[key]
        value = user[key]
        problem = _problem(key, value)
        if problem:
            raise ImproperlyConfigured(problem)
        return value

    @property
    def SAMPLE_RATE(self) -> float:
        return float(self._get("SAMPLE_RATE"))

    @property
    def SERVER_TIMING(self) -> ServerTiming:
        value: ServerTiming = self._get("SERVER_TIMING")
        return value

    @property
    def MAX_EVENTS(self) -> int:
        return int(self._get("MAX_EVENTS"))

    @property
    def AUDIT_URLS(self) -> list[str]:
        return list(self._get("AUDIT_URLS"))

    @property
    def N_PLUS_ONE_THRESHOLD(self) -> int:
        return int(self._get("N_PLUS_ONE_THRESHOLD"))

    @property
    def ALLOW(self) -> tuple[str, ...]:
        return tuple(self._get("ALLOW"))

    @property
    def CACHE(self) -> str:
        return str(self._get("CACHE"))

    @property
    def IGNORE_PATHS(self) -> tuple[str, ...]:
        return tuple(self._get("IGNORE_PATHS"))


conf = Conf()
