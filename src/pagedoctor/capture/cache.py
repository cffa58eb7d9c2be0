"""Record calls on Django's caches: operation, keys, hits and misses, duration.

``caches.create_connection`` is wrapped, so every cache object Django creates, including those
created again after ``override_settings(CACHES=...)``, gets recording methods. The methods are set
on the instance, so ``type()`` and ``isinstance()`` answer as before. A call made inside another
(``get_or_set`` calls ``get`` and ``add``) is part of the outer operation, not one of its own.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any

from django.core.cache import caches
from django.core.cache.backends.base import BaseCache

from pagedoctor.capture import callsite
from pagedoctor.capture.events import CacheEvent
from pagedoctor.capture.recording import active

_SINGLE_KEY = (
    "get",
    "set",
    "add",
    "delete",
    "touch",
    "incr",
    "decr",
    "has_key",
    "get_or_set",
    "incr_version",
    "decr_version",
)
_MANY_KEYS = ("get_many", "set_many", "delete_many")
_NO_KEY = ("clear",)
_MISSING = object()


@dataclass
class _Operation:
    inner: list[str] = field(default_factory=list)


_current: ContextVar[_Operation | None] = ContextVar("pagedoctor_cache_op", default=None)


def _keys(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[str, ...]:
    if name in _NO_KEY:
        return ()
    first = args[0] if args else kwargs.get("keys" if name != "set_many" else "data", ())
    if name in _MANY_KEYS:
        return tuple(str(k) for k in first) if isinstance(first, Iterable) else ()
    return (str(args[0] if args else kwargs.get("key", "")),)


def _outcome(name: str, keys: tuple[str, ...], result: Any, op: _Operation) -> tuple[int, int]:
    """Return (hits, misses) for an operation that returned ``result``."""
    if name == "get":
        return (0, 1) if result is _MISSING else (1, 0)
    if name == "get_many":
        return len(result), len(keys) - len(result)
    if name == "has_key":
        return (1, 0) if result else (0, 1)
    if name == "get_or_set":
        missed = any(inner in ("add", "set") for inner in op.inner)
        return (0, 1) if missed else (1, 0)
    return 0, 0


def _call_get(
    args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[Any, tuple[Any, ...], dict[str, Any]]:
    """Swap the caller's default for a private one, so a miss is told apart from a stored value."""
    if len(args) >= 2:
        default, args = args[1], (args[0], _MISSING, *args[2:])
    else:
        default = kwargs.pop("default", None)
        kwargs["default"] = _MISSING
    return default, args, kwargs


def _record(
    alias: str,
    name: str,
    keys: tuple[str, ...],
    started: float,
    hits: int,
    misses: int,
    error: str | None,
) -> None:
    recordings = active()
    if not recordings:
        return
    site, _ = callsite.find(sys._getframe(2))
    event = CacheEvent(
        alias=alias,
        operation=name,
        keys=keys,
        hits=hits,
        misses=misses,
        duration_ms=(perf_counter() - started) * 1000,
        started=started,
        callsite=site,
        error=error,
    )
    for recording in recordings:
        recording.add(event)


def _sync_method(alias: str, name: str, method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        outer = _current.get()
        if outer is not None:
            outer.inner.append(name)
            return method(*args, **kwargs)
        if not active():
            return method(*args, **kwargs)
        op = _Operation()
        token = _current.set(op)
        keys = _keys(name, args, kwargs)
        started = perf_counter()
        default = None
        if name == "get":
            default, args, kwargs = _call_get(args, kwargs)
        result: Any = _MISSING
        error = None
        try:
            result = method(*args, **kwargs)
        except BaseException as exc:
            error = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            _current.reset(token)
            hits, misses = _outcome(name, keys, result, op) if error is None else (0, 0)
            _record(alias, name, keys, started, hits, misses, error)
        return default if name == "get" and result is _MISSING else result

    return wrapper


def _async_method(alias: str, name: str, method: Callable[..., Any]) -> Callable[..., Any]:
    sync_name = name[1:]

    @functools.wraps(method)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        outer = _current.get()
        if outer is not None:
            outer.inner.append(sync_name)
            return await method(*args, **kwargs)
        if not active():
            return await method(*args, **kwargs)
        op = _Operation()
        token = _current.set(op)
        keys = _keys(sync_name, args, kwargs)
        started = perf_counter()
        default = None
        if sync_name == "get":
            default, args, kwargs = _call_get(args, kwargs)
        result: Any = _MISSING
        error = None
        try:
            result = await method(*args, **kwargs)
        except BaseException as exc:
            error = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            _current.reset(token)
            hits, misses = _outcome(sync_name, keys, result, op) if error is None else (0, 0)
            _record(alias, sync_name, keys, started, hits, misses, error)
        return default if sync_name == "get" and result is _MISSING else result

    return wrapper


def wrap(cache: BaseCache, alias: str) -> BaseCache:
    """Give ``cache`` recording methods, once."""
    if getattr(cache, "_pagedoctor_alias", None) is not None:
        return cache
    for name in (*_SINGLE_KEY, *_MANY_KEYS, *_NO_KEY):
        if hasattr(cache, name):
            setattr(cache, name, _sync_method(alias, name, getattr(cache, name)))
        if hasattr(cache, "a" + name):
            setattr(cache, "a" + name, _async_method(alias, "a" + name, getattr(cache, "a" + name)))
    cache._pagedoctor_alias = alias  # type: ignore[attr-defined]
    return cache


_original_create_connection = caches.create_connection


def _create_connection(alias: str) -> BaseCache:
    return wrap(_original_create_connection(alias), alias)


def install() -> None:
    """Record calls on every cache Django creates from now on, and on those it has."""
    if caches.create_connection is not _create_connection:
        caches.create_connection = _create_connection  # type: ignore[method-assign]
    for alias in caches:
        if hasattr(caches._connections, alias):
            wrap(getattr(caches._connections, alias), alias)
