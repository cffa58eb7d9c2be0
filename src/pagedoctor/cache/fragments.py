"""Template fragments: ``{% cached %}``'s keys, tags and invalidation by hand."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from pagedoctor.cache import keys, values
from pagedoctor.exceptions import CacheKeyError


def vary_text(vary_on: Sequence[Any]) -> str:
    """Return the values a fragment varies on as one text (model instances by their row)."""
    parts = []
    for value in vary_on:
        try:
            parts.append(keys.canonical(value, set()))
        except CacheKeyError:
            parts.append(f"str:{value}")  # as Django's {% cache %} does
    return "\x1f".join(parts)


def tag_names(name: str, vary_on: Sequence[Any]) -> tuple[str, str]:
    """Return the tags of fragment ``name``: every variant's, and this variant's."""
    digest = hashlib.blake2b(vary_text(vary_on).encode(), digest_size=12).hexdigest()
    return f"fragment:{name}", f"fragment:{name}:{digest}"


def key(name: str, vary_on: Sequence[Any]) -> str:
    """Return the cache key of fragment ``name`` for these values."""
    made, _ = keys.make(f"fragment:{name}", vary_text(vary_on))
    return made


def invalidate_fragment(name: str, vary_on: Sequence[Any] | None = None) -> None:
    """Make fragment ``name`` outdated: the variant for ``vary_on``, or every variant if None.

    Writes to the database invalidate fragments without this; it is for what the database
    does not hold (a setting, a file, another service).
    """
    every, one = tag_names(name, vary_on or [])
    values.invalidate([every if vary_on is None else one])
