"""Talk to the Django cache that holds values and versions, and survive it failing.

Every call goes through :func:`call`: if the backend raises (Redis down, memcached timing out),
the caller gets :class:`Unavailable` and computes the value itself; one warning is logged per
outage, and another line when the backend answers again. Django's own backends are used as they
are: nothing here re-implements what ``django.core.cache`` does.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextvars import ContextVar
from typing import TypeVar

from django.core.cache import BaseCache, caches

from pagedoctor.conf import conf

logger = logging.getLogger("pagedoctor.cache")
T = TypeVar("T")

# Set while pagedoctor itself talks to the cache: the database cache backend runs SQL, which the
# dependency tracker must neither record as a read nor treat as a write to invalidate.
internal: ContextVar[bool] = ContextVar("pagedoctor_cache_internal", default=False)


class Unavailable(Exception):
    """The cache backend failed; the value is computed and served without it."""


class _Health:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.down: set[str] = set()

    def failed(self, alias: str, exc: BaseException) -> None:
        with self.lock:
            first = alias not in self.down
            self.down.add(alias)
        if first:
            logger.warning(
                "pagedoctor: the cache %r failed (%s: %s); computing values without it until "
                "it answers again",
                alias,
                type(exc).__name__,
                exc,
            )

    def answered(self, alias: str) -> None:
        if alias not in self.down:
            return
        with self.lock:
            self.down.discard(alias)
        logger.warning("pagedoctor: the cache %r answers again", alias)


health = _Health()


def alias(name: str | None = None) -> str:
    """Return the cache alias to use: ``name``, else ``PAGEDOCTOR['CACHE']``."""
    return name or conf.CACHE


def get(name: str | None = None) -> BaseCache:
    """Return the Django cache called ``name`` (default: ``PAGEDOCTOR['CACHE']``)."""
    return caches[alias(name)]


def call(name: str, operation: Callable[[BaseCache], T]) -> T:
    """Run ``operation`` on the cache ``name``; raise :class:`Unavailable` if the backend fails."""
    token = internal.set(True)
    try:
        result = operation(caches[name])
    except Exception as exc:  # any backend error: the site must keep answering
        health.failed(name, exc)
        raise Unavailable(str(exc)) from exc
    finally:
        internal.reset(token)
    health.answered(name)
    return result


def cache_tables() -> frozenset[str]:
    """Return the tables of database cache backends, which are never dependencies."""
    from django.conf import settings

    return frozenset(
        str(config.get("LOCATION", ""))
        for config in settings.CACHES.values()
        if str(config.get("BACKEND", "")).endswith("DatabaseCache")
    )
