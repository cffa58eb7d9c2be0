"""Run the cache tests against every Django cache backend, with real Redis and memcached."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import caches
from django.core.management import call_command
from django.test import override_settings

from pagedoctor.cache import tracking
from tests.services import is_reachable, require_service

BACKENDS = ["locmem", "file", "db", "redis", "memcached"]


def backend_config(name: str, tmp_path: Path) -> dict[str, Any]:
    """Return the CACHES entry for backend ``name``."""
    if name == "locmem":
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "pd"}
    if name == "file":
        return {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(tmp_path / "cache"),
        }
    if name == "db":
        return {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "pagedoctor_test_cache",
        }
    if name == "redis":
        return {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/3",
        }
    if name == "memcached":
        return {
            "BACKEND": "django.core.cache.backends.memcached.PyMemcacheCache",
            "LOCATION": "127.0.0.1:11211",
        }
    raise ValueError(name)


@pytest.fixture(scope="session")
def memcached_server() -> Iterator[None]:
    """Start memcached on loopback if it is installed and not running already."""
    process = None
    binary = shutil.which("memcached")
    if binary and not is_reachable("127.0.0.1", 11211):
        # memcached refuses to run as root unless told which user to be.
        user = ["-u", "root"] if os.geteuid() == 0 else []
        process = subprocess.Popen(
            [binary, "-l", "127.0.0.1", "-p", "11211", "-U", "0", "-m", "64", *user],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(50):
            if is_reachable("127.0.0.1", 11211):
                break
            time.sleep(0.1)
    yield
    if process is not None:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(params=BACKENDS)
def cache_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Make ``default`` (pagedoctor's cache) one backend after another; yield its name."""
    name: str = request.param
    if name == "redis":
        require_service("redis")
    if name == "memcached":
        request.getfixturevalue("memcached_server")
        require_service("memcached")
    if name == "db":
        request.getfixturevalue("transactional_db")
    config = backend_config(name, tmp_path)
    shared = name in ("redis", "memcached")
    if shared:
        # A server other test runs may use at the same time: a namespace of this test's own
        # instead of clearing (which would empty theirs too).
        config["KEY_PREFIX"] = f"t{uuid.uuid4().hex[:12]}"
    with override_settings(CACHES={"default": config}):
        if name == "db":
            call_command("createcachetable", verbosity=0)
        if not shared:
            caches["default"].clear()
        tracking.reset()  # a new cache, not a lost one: nothing to hold pending
        yield name
        if not shared:
            caches["default"].clear()
