"""Record calls on Django's caches: operation, keys, hits and misses, duration.

``caches.create_connection`` is wrapped, so every cache object Django creates, including those
created again after ``override_settings(CACHES=...)``, gets recording methods. The methods are set
on the instance, so ``type()`` and ``isinstance()`` answer as before. A call made inside another
(``get_or_set`` calls ``get`` and ``add``) is part of the outer operation, not one of its own.
"""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Iterable
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any

from asgiref.sync import markcoroutinefunction
from django.core.cache import caches
from django.core.cache.backends.base import BaseCache

from pagedoctor.capture import callsite
from pagedoctor.capture.events import CacheEvent
from pagedoctor.capture.recording import active_now

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
# inspect's marker for coroutine functions (Python 3.12+; its name changed in 3.12.x).
_COROUTINE_MARK = getattr(inspect, "_is_coroutine_mark", None) or getattr(
    inspect, "_is_coroutine_marker", None
)


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


@dataclass
class _Call:
    """One recorded operation, from its start to its outcome."""

    name: str
    keys: tuple[str, ...]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    started: float
    token: Token[_Operation | None]
    op: _Operation = field(default_factory=_Operation)
    default: Any = None

    def finish(self, alias: str, result: Any = _MISSING, error: BaseException | None = None) -> Any:
        """Record the outcome and return what the caller gets back."""
        _current.reset(self.token)
        if error is None:
            hits, misses = _outcome(self.name, self.keys, result, self.op)
        else:
            hits, misses = 0, 0
        recordings = active_now()
        if recordings:
            site, _ = callsite.find(sys._getframe(1))
            event = CacheEvent(
                alias=alias,
                operation=self.name,
                keys=self.keys,
                hits=hits,
                misses=misses,
                duration_ms=(perf_counter() - self.started) * 1000,
                started=self.started,
                callsite=site,
                error=None if error is None else f"{type(error).__name__}: {error}",
            )
            for recording in recordings:
                recording.add(event)
        return self.default if self.name == "get" and result is _MISSING else result


def _start(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> _Call | None:
    """Begin recording an operation; None if nothing records or it is part of another one."""
    outer = _current.get()
    if outer is not None:
        outer.inner.append(name)
        return None
    if not active_now():
        return None
    op = _Operation()
    call = _Call(
        name, _keys(name, args, kwargs), args, kwargs, perf_counter(), _current.set(op), op
    )
    if name == "get":
        # A private default tells a miss apart from a stored value that equals the caller's.
        if len(args) >= 2:
            call.default, call.args = args[1], (args[0], _MISSING, *args[2:])
        else:
            call.default = kwargs.get("default")
            call.kwargs = {**kwargs, "default": _MISSING}
    return call


class _RecordedMethod:
    """A cache method that records its calls and otherwise passes for the bound method.

    ``__func__`` is the original function: Django compares it with ``BaseCache``'s to choose
    how an async method runs, and recording must not change that choice.
    """

    def __init__(self, alias: str, name: str, method: Any) -> None:
        self._alias = alias
        self._name = name
        self._method = method
        functools.update_wrapper(self, method)

    @property
    def __func__(self) -> Any:
        return self._method.__func__

    @property
    def __self__(self) -> Any:
        return self._method.__self__

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        call = _start(self._name, args, kwargs)
        if call is None:
            return self._method(*args, **kwargs)
        try:
            result = self._method(*call.args, **call.kwargs)
        except BaseException as exc:
            call.finish(self._alias, error=exc)
            raise
        return call.finish(self._alias, result)


class _RecordedAsyncMethod(_RecordedMethod):
    """The ``a``-prefixed twin: records the operation under its sync name."""

    def __init__(self, alias: str, name: str, method: Any) -> None:
        super().__init__(alias, name[1:], method)
        # Still a coroutine function to asyncio, asgiref and inspect. inspect's own marker
        # helper would mark __func__ (the wrapped function) instead of this object.
        if _COROUTINE_MARK is not None:
            self._is_coroutine_marker = _COROUTINE_MARK
        else:
            markcoroutinefunction(self)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._acall(*args, **kwargs)

    async def _acall(self, *args: Any, **kwargs: Any) -> Any:
        call = _start(self._name, args, kwargs)
        if call is None:
            return await self._method(*args, **kwargs)
        try:
            result = await self._method(*call.args, **call.kwargs)
        except BaseException as exc:
            call.finish(self._alias, error=exc)
            raise
        return call.finish(self._alias, result)


def wrap(cache: BaseCache, alias: str) -> BaseCache:
    """Give ``cache`` recording methods, once."""
    if getattr(cache, "_pagedoctor_alias", None) is not None:
        return cache
    for name in (*_SINGLE_KEY, *_MANY_KEYS, *_NO_KEY):
        if hasattr(cache, name):
            setattr(cache, name, _RecordedMethod(alias, name, getattr(cache, name)))
        if hasattr(cache, "a" + name):
            setattr(
                cache,
                "a" + name,
                _RecordedAsyncMethod(alias, "a" + name, getattr(cache, "a" + name)),
            )
    cache._pagedoctor_alias = alias  # type: ignore[attr-defined]
    return cache


_original_create_connection = caches.create_connection


def _create_connection(alias: str) -> BaseCache:
    return wrap(_original_create_connection(alias), alias)


def install() -> None:
    """Record calls on every cache Django creates from now on, and on those it has."""
    if caches.create_connection is not _create_connection:
        caches.create_connection = _create_connection  # type: ignore[method-assign]
    created = getattr(caches, "_connections")  # noqa: B009 - this thread's cache objects
    for alias in caches:
        if hasattr(created, alias):
            wrap(getattr(created, alias), alias)
