"""Cache keys from a function and its arguments: stable, and safe on every backend.

Arguments are turned into a canonical text (so ``f(1)`` and ``f(x=1)`` differ only where the
function's own signature says so) and hashed: the key is short, ASCII, free of spaces and
control characters, within memcached's 250 characters with any ``KEY_PREFIX``. A model instance
stands for its row: its label and primary key go into the key, and the row becomes a dependency.
"""

from __future__ import annotations

import datetime
import decimal
import enum
import hashlib
import re
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from django.db.models import Model, QuerySet

from pagedoctor.cache import tags
from pagedoctor.exceptions import CacheKeyError

PREFIX = "pagedoctor:e:"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
_SIMPLE = (str, int, float, bool, type(None), decimal.Decimal, uuid.UUID)
_DATES = (datetime.date, datetime.time, datetime.timedelta)


def make(namespace: str, parts: object) -> tuple[str, set[str]]:
    """Return the key for ``parts`` under ``namespace``, and the row tags of model arguments."""
    rows: set[str] = set()
    text = canonical(parts, rows)
    digest = hashlib.blake2b(f"{namespace}\x00{text}".encode(), digest_size=20).hexdigest()
    readable = _UNSAFE.sub("-", namespace)[-60:]
    return f"{PREFIX}{readable}:{digest}", rows


def canonical(value: object, rows: set[str]) -> str:
    """Return ``value`` as text that is equal exactly when the values are."""
    if isinstance(value, bool | type(None)):
        return repr(value)
    if isinstance(value, enum.Enum):
        return f"enum:{type(value).__qualname__}.{value.name}"
    if isinstance(value, _SIMPLE):
        return f"{type(value).__name__}:{value!r}"
    if isinstance(value, _DATES):
        return (
            f"{type(value).__name__}:{value.isoformat() if hasattr(value, 'isoformat') else value}"
        )
    if isinstance(value, Model):
        if value.pk is None:
            raise CacheKeyError(
                f"an unsaved {type(value).__name__} cannot be part of a cache key; save it "
                "first, or pass key= to say what the value depends on"
            )
        table = value._meta.db_table
        rows |= {tags.row(table, value.pk), tags.unpinned(table)}
        return f"model:{value._meta.label}:{tags.key_text(value.pk)}"
    if isinstance(value, list | tuple):
        inner = ",".join(canonical(v, rows) for v in value)
        return f"{type(value).__name__}:[{inner}]"
    if isinstance(value, set | frozenset):
        return f"set:[{','.join(sorted(canonical(v, rows) for v in value))}]"
    if isinstance(value, Mapping):
        items = sorted(f"{canonical(k, rows)}={canonical(v, rows)}" for k, v in value.items())
        return f"map:{{{','.join(items)}}}"
    if isinstance(value, QuerySet):
        raise CacheKeyError(
            "a QuerySet cannot be part of a cache key (its SQL is not its result); pass the "
            "values it is filtered by instead, or key="
        )
    raise CacheKeyError(
        f"a {type(value).__name__} cannot be part of a cache key: pagedoctor keys only numbers, "
        "text, dates, UUIDs, model instances and lists, tuples, sets and dicts of those; pass "
        "key= (a function of the same arguments that returns such a value)"
    )


def for_call(
    func: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    key: Callable[..., Any] | None,
) -> tuple[str, set[str]]:
    """Return the key of calling ``func`` with these arguments, and the rows they stand for."""
    namespace = f"{func.__module__}.{func.__qualname__}"
    parts: object = key(*args, **kwargs) if key is not None else (list(args), kwargs)
    try:
        return make(namespace, parts)
    except CacheKeyError as exc:
        raise CacheKeyError(f"@cached {namespace}: {exc}") from None
