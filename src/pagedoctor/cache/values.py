"""Cached values: look one up, compute it with its dependencies recorded, store it safely.

A value is stored as an :class:`Entry` with the version of every dependency taken before it was
read. A lookup is two round trips: the entry, then its dependencies' versions in one
``get_many``; it is a hit only if every version is unchanged and the current transaction has
not written what it read. Anything else is a miss, and the value is computed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import sync_to_async
from django.core.cache import BaseCache
from django.db.models import QuerySet

from pagedoctor.cache import backend, stats, tags, tracking, transactions, versions

logger = logging.getLogger("pagedoctor.cache")

_LOCK_POLL_S = 0.02


@dataclass
class Entry:
    """A stored value, the versions of what it read, and when and how fast it was computed."""

    value: Any
    deps: dict[str, int]
    created: float = field(default_factory=time.time)
    compute_s: float = 0.0
    expires: float | None = None


@dataclass
class Lookup:
    """What a lookup found: a valid entry, the previous (outdated) one, or nothing."""

    entry: Entry | None = None
    previous: Entry | None = None
    bypassed: bool = False


def lookup(alias: str, key: str, versions_alias: str | None = None) -> Lookup:
    """Return what is stored under ``key``; raise ``Unavailable`` if the cache failed."""
    versions_alias = versions_alias or backend.alias()
    written = transactions.flush_and_written()
    if not transactions.lost.flush(versions_alias):
        raise backend.Unavailable("invalidations are waiting for the cache")
    entry = backend.call(alias, lambda cache: cache.get(key))
    if not isinstance(entry, Entry):
        return Lookup()
    if tags.overlap(tags.tables_of(entry.deps), written):
        return Lookup(previous=entry, bypassed=True)
    found = backend.call(versions_alias, lambda cache: versions.read(cache, entry.deps))
    if all(found[tag] == version for tag, version in entry.deps.items()):
        return Lookup(entry=entry)
    return Lookup(previous=entry)


def compute(
    func: Callable[[], Any], *, extra_tags: Iterable[str] = ()
) -> tuple[Any, tracking.Computation, float]:
    """Run ``func`` while recording what it reads; return its value, the record and seconds."""
    with tracking.computing() as computation:
        _depend_on(computation, {tags.EVERYTHING, *extra_tags})
        started = time.perf_counter()
        value = func()
        if isinstance(value, QuerySet):
            value._fetch_all()  # read now, while we are tracking
        elapsed = time.perf_counter() - started
    for outer in tracking.enclosing():
        outer.inherit(computation.deps)
        if computation.unstorable:
            outer.spoil(computation.unstorable)
    return value, computation, elapsed


def _depend_on(computation: tracking.Computation, chosen: set[str]) -> None:
    try:
        found = backend.call(backend.alias(), lambda cache: versions.current(cache, chosen))
    except backend.Unavailable:
        computation.spoil("the cache failed")
        return
    if any(versions.is_pending(v) for v in found.values()):
        computation.spoil("a write to what it depends on is committing")
    computation.deps.update(found)


def store(
    alias: str,
    key: str,
    value: Any,
    computation: tracking.Computation,
    *,
    timeout: float | None,
    compute_s: float,
) -> bool:
    """Store ``value`` unless it may already be outdated; return whether it was stored."""
    reason = computation.unstorable or _outdated(computation)
    if reason:
        stats.count(alias, "unstored")
        logger.debug("pagedoctor: not caching %s: %s", key, reason)
        return False
    expires = None if timeout is None else time.time() + timeout
    entry = Entry(value, dict(computation.deps), compute_s=compute_s, expires=expires)
    try:
        backend.call(alias, lambda cache: cache.set(key, entry, timeout))
    except backend.Unavailable:
        return False
    return True


def _outdated(computation: tracking.Computation) -> str | None:
    """Return why the computed value may be outdated already, or None if it is current."""
    try:
        found = backend.call(backend.alias(), lambda c: _now(c, computation))
    except backend.Unavailable:
        return "the cache failed"
    return found


def _now(cache: BaseCache, computation: tracking.Computation) -> str | None:
    if any(versions.clock(cache) != snapshot for _, snapshot in computation.snapshots):
        return "a write committed after its snapshot transaction began"
    current = versions.read(cache, computation.deps)
    if any(current[tag] != version for tag, version in computation.deps.items()):
        return "a write it depends on committed while it was computed"
    return None


def get_or_compute(
    key: str,
    func: Callable[[], Any],
    *,
    timeout: float | None = 300,
    cache: str | None = None,
    tags_: Iterable[str] = (),
    extra_deps: Iterable[str] = (),
    lock: bool = True,
    lock_timeout: float = 10.0,
    stale: float = 0.0,
    early: float = 0.0,
) -> Any:
    """Return the value under ``key``, computing it with ``func`` when it is missing or outdated.

    See :func:`pagedoctor.cache.get_or_compute` for the options.
    """
    versions_alias = backend.alias()
    alias = cache or versions_alias
    chosen = {tags.custom(t) for t in tags_} | set(extra_deps)
    try:
        found = lookup(alias, key, versions_alias)
    except backend.Unavailable:
        return func()
    if found.entry is not None and not _refresh_early(found.entry, early):
        stats.count(alias, "hits")
        for outer in tracking.enclosing():
            outer.inherit(found.entry.deps)
        return found.entry.value
    if found.bypassed:
        stats.count(alias, "bypassed")
        value, _, _ = compute(func, extra_tags=chosen)
        return value
    if found.entry is None:
        stats.count(alias, "misses")
    if not lock:
        return _compute_and_store(alias, key, func, chosen, timeout)
    return _locked(alias, key, func, chosen, timeout, found, lock_timeout, stale)


def _refresh_early(entry: Entry, beta: float) -> bool:
    """Decide whether to recompute a still-valid value before it expires (XFetch).

    Vattani, Chierichetti and Lowenstein (VLDB 2015): recompute when
    ``now - compute_time * beta * ln(rand) >= expiry``, so that one caller, early, takes the
    recompute rather than every caller at the moment of expiry.
    """
    if beta <= 0 or entry.expires is None:
        return False
    return time.time() - entry.compute_s * beta * math.log(1 - random.random()) >= entry.expires


def _compute_and_store(
    alias: str, key: str, func: Callable[[], Any], chosen: set[str], timeout: float | None
) -> Any:
    value, computation, elapsed = compute(func, extra_tags=chosen)
    store(alias, key, value, computation, timeout=timeout, compute_s=elapsed)
    return value


def _locked(
    alias: str,
    key: str,
    func: Callable[[], Any],
    chosen: set[str],
    timeout: float | None,
    found: Lookup,
    lock_timeout: float,
    stale: float,
) -> Any:
    lock_key = f"{key}:lock"
    token = secrets.token_hex(8)
    try:
        acquired = backend.call(alias, lambda c: c.add(lock_key, token, lock_timeout))
    except backend.Unavailable:
        return func()
    if acquired:
        try:
            return _compute_and_store(alias, key, func, chosen, timeout)
        finally:
            _release(alias, lock_key, token)
    if found.entry is not None:
        return found.entry.value  # an early refresh is running elsewhere; this one is valid
    previous = found.previous
    if previous is not None and stale > 0 and time.time() - previous.created <= stale:
        stats.count(alias, "stale")
        return previous.value
    return _wait(alias, key, func, chosen, timeout, lock_timeout)


def _wait(
    alias: str,
    key: str,
    func: Callable[[], Any],
    chosen: set[str],
    timeout: float | None,
    lock_timeout: float,
) -> Any:
    stats.count(alias, "lock_waits")
    deadline = time.monotonic() + lock_timeout
    while time.monotonic() < deadline:
        time.sleep(_LOCK_POLL_S)
        try:
            found = lookup(alias, key)
            if found.entry is None and not _locked_by_anyone(alias, key):
                break  # the holder finished without storing (it could not): compute here
        except backend.Unavailable:
            break
        if found.entry is not None:
            stats.count(alias, "hits")
            for outer in tracking.enclosing():
                outer.inherit(found.entry.deps)
            return found.entry.value
    # The holder died, is slow, or stored nothing: compute here rather than wait longer.
    return _compute_and_store(alias, key, func, chosen, timeout)


def _locked_by_anyone(alias: str, key: str) -> bool:
    return backend.call(alias, lambda c: c.get(f"{key}:lock")) is not None


def _release(alias: str, lock_key: str, token: str) -> None:
    with contextlib.suppress(backend.Unavailable):
        backend.call(alias, lambda c: c.delete(lock_key) if c.get(lock_key) == token else None)


def invalidate(names: Iterable[str]) -> None:
    """Make every value tagged with one of ``names`` outdated, now."""
    transactions.invalidate_now({tags.custom(name) for name in names})


async def aget_or_compute(
    key: str,
    func: Callable[[], Awaitable[Any]],
    *,
    timeout: float | None = 300,
    cache: str | None = None,
    tags_: Iterable[str] = (),
    extra_deps: Iterable[str] = (),
    lock: bool = True,
    lock_timeout: float = 10.0,
    stale: float = 0.0,
    early: float = 0.0,
) -> Any:
    """Async twin of :func:`get_or_compute`: ``func`` is awaited; cache calls run in a thread.

    The lookup runs in the thread Django's ``sync_to_async`` uses for the ORM, where the
    connections whose transactions it must check live.
    """
    alias = backend.alias(cache)
    chosen = {tags.custom(t) for t in tags_} | set(extra_deps)
    try:
        found = await sync_to_async(lookup)(alias, key)
    except backend.Unavailable:
        return await func()
    if found.entry is not None and not _refresh_early(found.entry, early):
        stats.count(alias, "hits")
        for outer in tracking.enclosing():
            outer.inherit(found.entry.deps)
        return found.entry.value
    if found.bypassed:
        stats.count(alias, "bypassed")
        value, _, _ = await acompute(func, extra_tags=chosen)
        return value
    if found.entry is None:
        stats.count(alias, "misses")
    lock_key, token = f"{key}:lock", secrets.token_hex(8)
    try:
        acquired = not lock or await sync_to_async(backend.call)(
            alias, lambda c: c.add(lock_key, token, lock_timeout)
        )
    except backend.Unavailable:
        return await func()
    if not acquired:
        if found.entry is not None:
            return found.entry.value
        previous = found.previous
        if previous is not None and stale > 0 and time.time() - previous.created <= stale:
            stats.count(alias, "stale")
            return previous.value
        stats.count(alias, "lock_waits")
        deadline = time.monotonic() + lock_timeout
        while time.monotonic() < deadline:
            await asyncio.sleep(_LOCK_POLL_S)
            try:
                found = await sync_to_async(lookup)(alias, key)
                if found.entry is None and not await sync_to_async(_locked_by_anyone)(alias, key):
                    break  # the holder finished without storing: compute here
            except backend.Unavailable:
                break
            if found.entry is not None:
                stats.count(alias, "hits")
                return found.entry.value
    try:
        value, computation, elapsed = await acompute(func, extra_tags=chosen)
        await sync_to_async(store)(
            alias, key, value, computation, timeout=timeout, compute_s=elapsed
        )
        return value
    finally:
        if lock and acquired:
            await sync_to_async(_release)(alias, lock_key, token)


async def acompute(
    func: Callable[[], Awaitable[Any]], *, extra_tags: Iterable[str] = ()
) -> tuple[Any, tracking.Computation, float]:
    """Async twin of :func:`compute`."""
    with tracking.computing() as computation:
        await sync_to_async(_depend_on)(computation, {tags.EVERYTHING, *extra_tags})
        started = time.perf_counter()
        value = await func()
        if isinstance(value, QuerySet):
            await sync_to_async(value._fetch_all)()
        elapsed = time.perf_counter() - started
    for outer in tracking.enclosing():
        outer.inherit(computation.deps)
        if computation.unstorable:
            outer.spoil(computation.unstorable)
    return value, computation, elapsed
