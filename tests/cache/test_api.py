"""get_or_compute, tags, async twins, keys and failure, beyond what @cached's tests cover."""

from __future__ import annotations

import asyncio
import logging
import threading
import time

import pytest
from asgiref.sync import sync_to_async
from django.core.cache import close_caches
from django.test import override_settings

import pagedoctor.cache as pdcache
from pagedoctor.cache import keys, stats
from pagedoctor.exceptions import CacheKeyError
from tests.testapp.models import Author

pytestmark = pytest.mark.django_db(transaction=True)


def names() -> list[str]:
    return list(Author.objects.order_by("name").values_list("name", flat=True))


def test_get_or_compute_is_invalidated_by_a_write(cache_backend: str) -> None:
    Author.objects.create(name="Ann")
    assert pdcache.get_or_compute("names", names) == ["Ann"]
    Author.objects.create(name="Bob")
    assert pdcache.get_or_compute("names", names) == ["Ann", "Bob"]


def test_invalidate_by_tag(cache_backend: str) -> None:
    outside = {"value": 1}
    assert pdcache.get_or_compute("ext", lambda: outside["value"], tags=["ext"]) == 1
    outside["value"] = 2
    assert pdcache.get_or_compute("ext", lambda: outside["value"], tags=["ext"]) == 1
    pdcache.invalidate("ext")
    assert pdcache.get_or_compute("ext", lambda: outside["value"], tags=["ext"]) == 2


def test_a_nested_hit_passes_its_dependencies_out(cache_backend: str) -> None:
    Author.objects.create(name="Ann")

    @pdcache.cached
    def inner() -> list[str]:
        return names()

    @pdcache.cached
    def outer() -> int:
        return len(inner())

    assert inner() == ["Ann"]  # cached first, so outer's computation runs no SQL of its own
    assert outer() == 1
    Author.objects.create(name="Bob")
    assert outer() == 2


def test_one_recompute_at_a_time(cache_backend: str) -> None:
    started, release = threading.Event(), threading.Event()
    computed: list[int] = []

    def slow() -> int:
        computed.append(1)
        started.set()
        release.wait(5)
        return 42

    results: list[int] = []

    def call() -> None:
        try:
            results.append(pdcache.get_or_compute("k", slow))
        finally:
            close_caches()  # this thread's connections to the cache server

    first = threading.Thread(target=call)
    first.start()
    assert started.wait(5)
    second = threading.Thread(target=call)
    second.start()
    deadline = time.monotonic() + 5
    while stats.totals().get("default", {}).get("lock_waits", 0) == 0:
        assert time.monotonic() < deadline, "the second caller never waited for the lock"
        time.sleep(0.01)
    release.set()
    first.join(5)
    second.join(5)
    assert results == [42, 42]
    assert computed == [1]
    assert stats.totals()["default"]["lock_waits"] == 1


def test_stale_serves_the_previous_value_while_another_recomputes() -> None:
    outside = {"value": 1}
    assert pdcache.get_or_compute("s", lambda: outside["value"], tags=["s"], stale=60) == 1
    pdcache.invalidate("s")
    outside["value"] = 2
    # Another process holds the recompute lock.
    key = keys.make("get_or_compute", "s")[0]
    from django.core.cache import cache

    cache.add(f"{key}:lock", "someone", 10)
    assert pdcache.get_or_compute("s", lambda: outside["value"], tags=["s"], stale=60) == 1
    assert stats.totals()["default"]["stale"] == 1
    cache.delete(f"{key}:lock")
    assert pdcache.get_or_compute("s", lambda: outside["value"], tags=["s"], stale=60) == 2


def test_without_stale_a_waiter_never_gets_the_previous_value() -> None:
    outside = {"value": 1}
    assert pdcache.get_or_compute("n", lambda: outside["value"], tags=["n"]) == 1
    pdcache.invalidate("n")
    outside["value"] = 2
    key = keys.make("get_or_compute", "n")[0]
    from django.core.cache import cache

    cache.add(f"{key}:lock", "someone", 10)
    assert pdcache.get_or_compute("n", lambda: outside["value"], tags=["n"], lock_timeout=0.1) == 2


def test_early_refresh_recomputes_a_value_about_to_expire() -> None:
    outside = {"value": 1}
    assert pdcache.get_or_compute("e", lambda: outside["value"], timeout=1, early=1e9) == 1
    outside["value"] = 2
    # With a huge beta the refresh is certain; without it the valid value is served.
    assert pdcache.get_or_compute("e", lambda: outside["value"], timeout=1) == 1
    assert pdcache.get_or_compute("e", lambda: outside["value"], timeout=1, early=1e9) == 2


def test_async_cached_function() -> None:
    calls: list[int] = []

    @pdcache.cached
    async def count() -> int:
        calls.append(1)
        return await Author.objects.acount()

    async def main() -> list[int]:
        seen = [await count(), await count()]
        await sync_to_async(Author.objects.create)(name="Bob")
        return [*seen, await count()]

    assert asyncio.run(main()) == [0, 0, 1]
    assert calls == [1, 1]


def test_async_get_or_compute_and_invalidate() -> None:
    outside = {"value": 1}

    async def value() -> int:
        await Author.objects.acount()
        return outside["value"]

    async def main() -> list[int]:
        first = await pdcache.aget_or_compute("a", value, tags=["a"])
        outside["value"] = 2
        second = await pdcache.aget_or_compute("a", value, tags=["a"])
        await pdcache.ainvalidate("a")
        return [first, second, await pdcache.aget_or_compute("a", value, tags=["a"])]

    assert asyncio.run(main()) == [1, 1, 2]


def test_an_argument_that_cannot_be_a_key_is_a_clear_error() -> None:
    @pdcache.cached
    def f(thing: object) -> int:
        return 1

    with pytest.raises(CacheKeyError, match=r"cannot be part of a cache key.*pass key="):
        f(object())
    with pytest.raises(CacheKeyError, match="QuerySet"):
        f(Author.objects.all())
    with pytest.raises(CacheKeyError, match="unsaved Author"):
        f(Author(name="x"))


def test_key_function_chooses_what_identifies_the_value() -> None:
    @pdcache.cached(key=lambda request: request["user"])
    def greeting(request: dict[str, object]) -> str:
        return f"hi {request['user']} {request['n']}"

    assert greeting({"user": "ann", "n": 1}) == "hi ann 1"
    assert greeting({"user": "ann", "n": 2}) == "hi ann 1"


DOWN = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:6390/0",
    }
}


def test_a_cache_that_is_down_computes_and_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    Author.objects.create(name="Ann")

    @pdcache.cached
    def cached_names() -> list[str]:
        return names()

    with override_settings(CACHES=DOWN), caplog.at_level(logging.WARNING, "pagedoctor.cache"):
        assert cached_names() == ["Ann"]
        Author.objects.create(name="Bob")  # its invalidation cannot be sent now
        assert cached_names() == ["Ann", "Bob"]
    failures = [r for r in caplog.records if "failed" in r.getMessage()]
    assert len(failures) == 1
