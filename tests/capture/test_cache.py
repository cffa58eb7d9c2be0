from __future__ import annotations

import asyncio
import sys

import pytest
from django.core.cache import cache, caches
from django.core.cache.backends.locmem import LocMemCache
from django.test import override_settings

import pagedoctor


def test_get_set_hits_and_misses() -> None:
    with pagedoctor.record() as rec:
        cache.set("k", None)  # a stored None is a hit, not a miss
        assert cache.get("k", "default") is None
        assert cache.get("absent", "default") == "default"
        assert cache.get("absent") is None
    ops = [(c.operation, c.keys, c.hits, c.misses) for c in rec.cache_calls]
    assert ops == [
        ("set", ("k",), 0, 0),
        ("get", ("k",), 1, 0),
        ("get", ("absent",), 0, 1),
        ("get", ("absent",), 0, 1),
    ]
    assert rec.cache_calls[0].alias == "default"
    assert rec.cache_calls[0].callsite is not None
    assert rec.cache_calls[0].callsite.file == __file__


def test_get_or_set_is_one_operation() -> None:
    with pagedoctor.record() as rec:
        assert cache.get_or_set("g", lambda: 42) == 42
        assert cache.get_or_set("g", lambda: 0) == 42
    assert [(c.operation, c.hits, c.misses) for c in rec.cache_calls] == [
        ("get_or_set", 0, 1),
        ("get_or_set", 1, 0),
    ]


def test_get_many_counts_each_key() -> None:
    cache.set_many({"a": 1, "b": 2})
    with pagedoctor.record() as rec:
        assert cache.get_many(["a", "b", "c"]) == {"a": 1, "b": 2}
    (call,) = rec.cache_calls
    assert (call.operation, call.keys, call.hits, call.misses) == (
        "get_many",
        ("a", "b", "c"),
        2,
        1,
    )


def test_async_operations_are_recorded_once() -> None:
    async def main() -> pagedoctor.Recording:
        async with pagedoctor.arecord() as rec:
            await cache.aset("x", 1)
            assert await cache.aget("x") == 1
            assert await cache.aget_or_set("y", 2) == 2
        return rec

    rec = asyncio.run(main())
    assert [(c.operation, c.hits, c.misses) for c in rec.cache_calls] == [
        ("set", 0, 0),
        ("get", 1, 0),
        ("get_or_set", 0, 1),
    ]


def test_the_cache_keeps_its_type() -> None:
    assert isinstance(caches["default"], LocMemCache)
    assert type(caches["default"]) is LocMemCache


def test_survives_override_settings() -> None:
    other = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "o"}
    }
    with override_settings(CACHES=other), pagedoctor.record() as rec:
        caches["default"].set("o", 1)
        caches["default"].get("o")
    assert [c.operation for c in rec.cache_calls] == ["set", "get"]


def test_errors_are_recorded_and_raised() -> None:
    cache.set("text", "not a number")
    with pagedoctor.record() as rec, pytest.raises(TypeError):
        cache.incr("text")
    assert rec.cache_calls[0].error is not None
    assert rec.cache_calls[0].error.startswith("TypeError")


def test_nothing_recorded_outside_a_block() -> None:
    with pagedoctor.record() as rec:
        pass
    cache.get("z")
    assert rec.cache_calls == []


def test_async_dispatch_is_unchanged() -> None:
    # Django 6.1 picks how an async method runs by comparing the sync method's __func__ with
    # BaseCache's; the recording methods must keep that comparison's answer.
    import inspect

    from asgiref.sync import iscoroutinefunction
    from django.core.cache.backends.base import BaseCache

    backend = caches["default"]
    assert backend.get_many.__func__ is BaseCache.get_many  # type: ignore[attr-defined]
    assert backend.get.__func__ is type(backend).get  # type: ignore[attr-defined]
    assert iscoroutinefunction(backend.aget)
    assert not iscoroutinefunction(backend.get)
    if sys.version_info >= (3, 12):
        assert inspect.iscoroutinefunction(backend.aget)
