"""Caches whose invalidation is automatic and correct: functions, fragments, views.

What a cached value depends on is recorded from the SQL run while computing it; any write that
commits to what it read makes it outdated, through any Django connection. See
``docs/caching.md`` and, for why it cannot serve stale data, ``docs/architecture.md``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from asgiref.sync import sync_to_async

from pagedoctor.cache import keys, values
from pagedoctor.cache.functions import cached
from pagedoctor.cache.views import cache_view

__all__ = [
    "aget_or_compute",
    "ainvalidate",
    "cache_view",
    "cached",
    "get_or_compute",
    "invalidate",
]


def get_or_compute(
    key: str,
    compute: Callable[[], Any],
    *,
    timeout: float | None = 300,
    cache: str | None = None,
    tags: Iterable[str] = (),
    lock: bool = True,
    lock_timeout: float = 10.0,
    stale: float = 0.0,
    early: float = 0.0,
) -> Any:
    """Return the value cached under ``key``, or compute, store and return it.

    Unlike ``cache.get_or_set``, the value's dependencies are recorded and it is never served
    after a commit changed them, and only one caller at a time computes it:

    - ``lock``: one recompute at a time, across processes (a lock in the cache that expires
      after ``lock_timeout`` seconds); the others wait for its value.
    - ``stale``: while another caller recomputes, serve the previous value if it was computed
      at most this many seconds ago, instead of waiting. 0 (the default) never serves a value
      after a commit changed what it read.
    - ``early``: XFetch's beta (1.0 is the paper's default): recompute a valid value shortly
      before ``timeout`` ends, at random, so that it does not expire for everyone at once.
    """
    made, _ = keys.make("get_or_compute", key)
    return values.get_or_compute(
        made,
        compute,
        timeout=timeout,
        cache=cache,
        tags_=tags,
        lock=lock,
        lock_timeout=lock_timeout,
        stale=stale,
        early=early,
    )


async def aget_or_compute(
    key: str,
    compute: Callable[[], Awaitable[Any]],
    *,
    timeout: float | None = 300,
    cache: str | None = None,
    tags: Iterable[str] = (),
    lock: bool = True,
    lock_timeout: float = 10.0,
    stale: float = 0.0,
    early: float = 0.0,
) -> Any:
    """Async twin of :func:`get_or_compute`: ``compute`` returns an awaitable."""
    made, _ = keys.make("get_or_compute", key)
    return await values.aget_or_compute(
        made,
        compute,
        timeout=timeout,
        cache=cache,
        tags_=tags,
        lock=lock,
        lock_timeout=lock_timeout,
        stale=stale,
        early=early,
    )


def invalidate(*names: str) -> None:
    """Make every value cached with one of these ``tags=`` names outdated, at once."""
    values.invalidate(names)


async def ainvalidate(*names: str) -> None:
    """Async twin of :func:`invalidate`."""
    await sync_to_async(values.invalidate)(names)
