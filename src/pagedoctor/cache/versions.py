"""The version of each dependency tag, kept in the shared cache so every process sees it.

A version is a random 63-bit number. A write that commits gives each tag it changed a new one; a
cached value stores the versions its tags had *before* it read them, and is served only while
every one is still the same. Equality is all that is compared, so no backend needs an atomic
``incr`` (the file and database backends have none), two writers' updates may land in either
order, and a version that is evicted or lost with a restarted cache comes back as a new random
number that no stored value can match.

A write that is committing counts itself in ``pagedoctor:p:TAG`` for each tag it changes, then
bumps the tags and takes its count back (:mod:`pagedoctor.cache.transactions`): while a count
is above zero the tag reads as ``PENDING`` and nothing that depends on it is served or stored.
The count is kept with the backend's ``incr``, atomic on Redis, memcached and locmem.

``pagedoctor:clock`` is one more version, changed by every write: a value computed inside a
snapshot transaction is stored only if the clock did not change since the snapshot began
(:mod:`pagedoctor.cache.transactions`).
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from collections.abc import Iterable

from django.core.cache import BaseCache

from pagedoctor.cache import backend

CLOCK = "pagedoctor:clock"
# Set for LOST_SECONDS once a process finds that the cache lost everything.
LOST = "pagedoctor:lost"
ALIVE = "pagedoctor:alive"
# How long a write's pending mark lasts if its transaction never ends (the process died).
PENDING_SECONDS = 300
# How long tags stay pending after the cache lost everything, marks included: long enough for
# the writes that were committing to finish and bump.
LOST_SECONDS = 5
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


# Whether this process has seen ALIVE, a key only these functions write: once it has, ALIVE
# gone means the cache lost everything (a restart, a flush), not that it is new. Its value is
# the cache's generation, part of every pending count's key: a write that marked before a loss
# takes its mark back from a key that no longer exists, never from a later writer's.
_alive_seen = False
_generation: int | None = None


def _lost_everything(cache: BaseCache) -> bool:
    """Note ALIVE; return whether the cache lost everything since this process last saw it.

    The marks of the writes that were committing went with it, so for ``LOST_SECONDS`` every
    tag reads as pending: nothing is served or stored until those writes have had time to end.
    """
    global _alive_seen
    cache.add(ALIVE, fresh(), timeout=None)
    lost, _alive_seen = _alive_seen, True
    if lost:
        cache.set(LOST, 1, timeout=LOST_SECONDS)
    return lost


def generation(cache: BaseCache) -> int:
    """Return the cache's generation (ALIVE's value), starting one if it has none."""
    global _generation, _alive_seen
    value = cache.get(ALIVE)
    if value is None:
        _lost_everything(cache)
        value = cache.get(ALIVE)
    else:
        _alive_seen = True
    _generation = int(value) if value is not None else 0
    return _generation


PENDING = -1  # what a tag's version reads as while a write to it is committing


def pending_key(tag: str, generation: int) -> str:
    """Return the cache key counting the writes to ``tag`` committing in ``generation``."""
    return f"pagedoctor:p:{generation}:" + key(tag)[len(_PREFIX) :]


def current(cache: BaseCache, tags: Iterable[str]) -> dict[str, int]:
    """Return the version of each of ``tags`` (``PENDING`` while a write to it commits).

    A tag that has no version gets a fresh one.
    """
    chosen = list(tags)
    if not chosen:
        return {}
    found = read(cache, chosen)
    missing = [tag for tag, version in found.items() if version is None]
    for tag in missing:
        cache.add(key(tag), fresh(), timeout=None)
    if missing:
        # Another process may have added or bumped it first: read what won.
        found.update(read(cache, missing))
    return {tag: PENDING if version is None else version for tag, version in found.items()}


def read(cache: BaseCache, tags: Iterable[str]) -> dict[str, int | None]:
    """Return the version of each of ``tags``: None where it has none, ``PENDING`` if pending.

    One ``get_many`` reads the versions, the generation and the counts of writes committing
    in the generation this process last saw; only when that has changed is there a second.
    """
    global _alive_seen
    chosen = list(dict.fromkeys(tags))
    if not chosen:
        return {}
    known = _generation
    counts = [pending_key(tag, known) for tag in chosen] if known is not None else []
    found = cache.get_many([LOST, ALIVE, *(key(tag) for tag in chosen), *counts])
    alive = found.get(ALIVE)
    if alive is None:
        if _lost_everything(cache):
            generation(cache)
            return dict.fromkeys(chosen, PENDING)
        alive = generation(cache)
    _alive_seen = True
    if found.get(LOST):
        return dict.fromkeys(chosen, PENDING)
    if int(alive) != known:
        _remember(int(alive))
        fresh_counts = [pending_key(tag, int(alive)) for tag in chosen]
        found.update(cache.get_many(fresh_counts))
    versions: dict[str, int | None] = {}
    for tag in chosen:
        if int(found.get(pending_key(tag, int(alive))) or 0) > 0:
            versions[tag] = PENDING
        else:
            version = found.get(key(tag))
            versions[tag] = int(version) if version is not None else None
    return versions


def _remember(value: int) -> None:
    global _generation
    _generation = value


def bump(cache: BaseCache, tags: Iterable[str]) -> None:
    """Give each of ``tags``, and the clock, a new version."""
    chosen = {key(tag): fresh() for tag in set(tags)}
    chosen[CLOCK] = fresh()
    cache.set_many(chosen, timeout=None)


def is_pending(version: int | None) -> bool:
    """Return whether ``version`` says a write to its tag is committing."""
    return version == PENDING


def mark(cache: BaseCache, tags: Iterable[str]) -> int:
    """Count one more write committing to each of ``tags``; return the generation counted in.

    A count, not a flag: two writers may commit to one tag at once, and the first to finish
    must not clear the second's mark. Each mark renews the count's expiry, so a busy tag's
    count never expires under a writer that is still committing.
    """
    current_generation = generation(cache)
    for tag in set(tags):
        count_key = pending_key(tag, current_generation)
        cache.add(count_key, 0, timeout=PENDING_SECONDS)
        try:
            cache.incr(count_key)
        except ValueError:  # expired between the two calls
            cache.add(count_key, 1, timeout=PENDING_SECONDS)
        cache.touch(count_key, PENDING_SECONDS)
    return current_generation


def take_back(cache: BaseCache, marks: dict[str, int]) -> None:
    """Count one write fewer committing to each tag, in the generation it was counted in."""
    for tag, counted_in in marks.items():
        # Left at 0 rather than deleted: deleting would erase a mark another writer may have
        # added in between. Gone (a lost cache, an expiry): nothing left to undo.
        with contextlib.suppress(ValueError):
            cache.decr(pending_key(tag, counted_in))


def mark_on(alias: str, tags: Iterable[str]) -> dict[str, int]:
    """Mark ``tags`` pending in the cache ``alias``; return each tag's generation.

    Raise ``backend.Unavailable`` on failure.
    """
    chosen = list(tags)
    counted_in = backend.call(alias, lambda cache: mark(cache, chosen))
    return dict.fromkeys(chosen, counted_in)


def finish_on(alias: str, tags: Iterable[str], *, marks: dict[str, int]) -> None:
    """Bump ``tags``, then take back ``marks``; raise ``backend.Unavailable``."""
    chosen = list(tags)

    def finish(cache: BaseCache) -> None:
        bump(cache, chosen)  # first: the mark must cover the moment the new version lands
        take_back(cache, marks)

    backend.call(alias, finish)


def bump_on(alias: str, tags: Iterable[str]) -> None:
    """Bump ``tags`` in the cache ``alias``; raise :class:`backend.Unavailable` if it fails."""
    chosen = list(tags)
    backend.call(alias, lambda cache: bump(cache, chosen))
