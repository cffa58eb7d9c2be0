"""The version of each dependency tag, kept in the shared cache so every process sees it.

A version is a random 63-bit number. A write that commits gives each tag it changed a new one; a
cached value stores the versions its tags had *before* it read them, and is served only while
every one is still the same. Equality is all that is compared, so no backend needs an atomic
``incr`` (the file and database backends have none), two writers' updates may land in either
order, and a version that is evicted or lost with a restarted cache comes back as a new random
number that no stored value can match.

A write marks its tags pending (a negative version, which no stored value has) before it runs,
and bumps them when its transaction ends (:mod:`pagedoctor.cache.transactions`).

``pagedoctor:clock`` is one more version, changed by every write: a value computed inside a
snapshot transaction is stored only if the clock did not change since the snapshot began
(:mod:`pagedoctor.cache.transactions`).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable

from django.core.cache import BaseCache

from pagedoctor.cache import backend

CLOCK = "pagedoctor:clock"
# How long a write's pending mark lasts if its transaction never ends (the process died).
PENDING_SECONDS = 300
_PREFIX = "pagedoctor:v:"
_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.:*")


def key(tag: str) -> str:
    """Return the cache key of ``tag``'s version, safe for every backend (memcached too)."""
    if len(tag) <= 160 and set(tag) <= _SAFE:
        return _PREFIX + tag
    return _PREFIX + "h:" + hashlib.blake2b(tag.encode(), digest_size=20).hexdigest()


def fresh() -> int:
    """Return a new version: random, so it matches no version any process gave before."""
    return secrets.randbits(63)


def clock(cache: BaseCache) -> int | None:
    """Return the clock's version, or None if it has none (never set, or evicted)."""
    value = cache.get(CLOCK)
    return int(value) if value is not None else None


def current(cache: BaseCache, tags: Iterable[str]) -> dict[str, int]:
    """Return the version of each of ``tags``, giving tags that have none a fresh one."""
    keys = {tag: key(tag) for tag in tags}
    if not keys:
        return {}
    found = cache.get_many(list(keys.values()))
    versions = {tag: found[k] for tag, k in keys.items() if found.get(k) is not None}
    missing = [tag for tag in keys if tag not in versions]
    if missing:
        for tag in missing:
            cache.add(keys[tag], fresh(), timeout=None)
        # Another process may have added or bumped it first: read what won.
        again = cache.get_many([keys[tag] for tag in missing])
        for tag in missing:
            value = again.get(keys[tag])
            versions[tag] = int(value) if value is not None else -1
    return {tag: int(v) for tag, v in versions.items()}


def read(cache: BaseCache, tags: Iterable[str]) -> dict[str, int | None]:
    """Return the version of each of ``tags`` as stored, None where it has none."""
    keys = {tag: key(tag) for tag in tags}
    found = cache.get_many(list(keys.values())) if keys else {}
    return {tag: found.get(k) for tag, k in keys.items()}


def bump(cache: BaseCache, tags: Iterable[str]) -> None:
    """Give each of ``tags``, and the clock, a new version."""
    chosen = {key(tag): fresh() for tag in set(tags)}
    chosen[CLOCK] = fresh()
    cache.set_many(chosen, timeout=None)


def is_pending(version: int) -> bool:
    """Return whether ``version`` is a pending mark: a write to the tag is about to commit."""
    return version < 0


def mark(cache: BaseCache, tags: Iterable[str]) -> None:
    """Mark ``tags`` pending: until bumped, nothing that depends on them is served or stored."""
    chosen = {key(tag): -fresh() - 1 for tag in set(tags)}
    cache.set_many(chosen, timeout=PENDING_SECONDS)


def mark_on(alias: str, tags: Iterable[str]) -> None:
    """Mark ``tags`` pending in the cache ``alias``; raise ``backend.Unavailable`` on failure."""
    chosen = list(tags)
    backend.call(alias, lambda cache: mark(cache, chosen))


def bump_on(alias: str, tags: Iterable[str]) -> None:
    """Bump ``tags`` in the cache ``alias``; raise :class:`backend.Unavailable` if it fails."""
    chosen = list(tags)
    backend.call(alias, lambda cache: bump(cache, chosen))
