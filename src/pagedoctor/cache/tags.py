"""Dependency tags: what a cached value read, and what a write changes.

Every tag has a version in the cache (:mod:`pagedoctor.cache.versions`). The tags of a table T:

- ``t:T``: any change to T. A value that read T without pinning rows depends on it.
- ``r:T:K``: a change to the row whose primary key is K. A value that read T's rows by primary
  key (``WHERE id = %s``, ``id IN (...)``) depends on those rows' tags and on ``a:T``.
- ``a:T``: a change to rows of T that the write did not name (an ``INSERT``, an ``UPDATE`` by
  another column, raw SQL pagedoctor could not pin): it may have touched any row.
- ``*``: every value depends on it; a write pagedoctor cannot read at all changes it.

A write pinned by primary key changes ``t:T`` and its rows' ``r:T:K``; any other write changes
``t:T`` and ``a:T``. Custom tags (``cached(tags=...)``, fragments) are prefixed ``u:``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from uuid import UUID

from pagedoctor.cache.statements import Access, Pin, TableAccess

EVERYTHING = "*"
_UUID = re.compile(
    r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"
)


def table(name: str) -> str:
    """Return the tag of any change to table ``name``."""
    return f"t:{name}"


def unpinned(name: str) -> str:
    """Return the tag of a change to rows of ``name`` that the write did not name."""
    return f"a:{name}"


def row(name: str, key: object) -> str:
    """Return the tag of the row of ``name`` whose primary key is ``key``."""
    return f"r:{name}:{key_text(key)}"


def custom(name: str) -> str:
    """Return the tag for a name the application chose (``cached(tags=[...])``)."""
    return f"u:{name}"


def tables_of(tags: Iterable[str]) -> set[str]:
    """Return the tables the table and row tags among ``tags`` name; ``*`` stands for all."""
    found = set()
    for tag in tags:
        if tag == EVERYTHING:
            found.add(EVERYTHING)
        elif tag[:2] in ("t:", "a:"):
            found.add(tag[2:])
        elif tag.startswith("r:"):
            found.add(tag[2:].split(":", 1)[0])
    return found


def overlap(read: set[str], written: set[str]) -> bool:
    """Return whether tables ``read`` include one of ``written`` (``*`` in ``written``: all)."""
    return bool(written) and (EVERYTHING in written or bool(read & written))


def key_text(key: object) -> str:
    """Return a primary key as the same text however the driver was handed it.

    SQLite gets UUIDs as 32 hex digits, PostgreSQL as ``UUID`` objects; integers may come as
    ``5`` or ``"5"``.
    """
    if isinstance(key, UUID):
        return key.hex
    text = str(key)
    if _UUID.match(text):
        return text.replace("-", "").lower()
    return text


def read_tags(access: Access, params: Any, many: bool) -> set[str]:
    """Return the tags a value depends on once it has read what ``access`` describes."""
    tags: set[str] = set()
    for read in access.reads:
        keys = _keys(read, params, many)
        if keys is None:
            tags.add(table(read.table))
        else:
            tags.add(unpinned(read.table))
            tags.update(row(read.table, key) for key in keys)
    return tags


def write_tags(access: Access, params: Any, many: bool) -> set[str]:
    """Return the tags a write described by ``access`` changes."""
    if access.everything:
        return {EVERYTHING}
    tags: set[str] = set()
    for write in access.writes:
        tags.add(table(write.table))
        keys = _keys(write, params, many)
        if keys is None:
            tags.add(unpinned(write.table))
        else:
            tags.update(row(write.table, key) for key in keys)
    return tags


def _keys(access: TableAccess, params: Any, many: bool) -> list[object] | None:
    if access.pins is None:
        return None
    if many and not isinstance(params, Sequence):
        return None  # a one-shot iterator the driver must be the one to consume
    rows: Sequence[Any] = params if many else [params]
    keys: list[object] = []
    for one in rows:
        for pin in access.pins:
            value = _pin_value(pin, one)
            if value is _MISSING:
                return None
            keys.append(value)
    return keys


_MISSING = object()


def _pin_value(pin: Pin, params: Any) -> object:
    if isinstance(pin, int):
        if isinstance(params, Sequence) and not isinstance(params, str) and pin < len(params):
            return params[pin]
        return _MISSING
    if pin.startswith("="):
        return pin[1:].strip("'\"")
    if pin.startswith(":") and isinstance(params, Mapping):
        return params.get(pin[1:], _MISSING)
    return _MISSING
