"""A cache server that stops answering: pages still answer, one warning, no stale value after.

The tests run their own redis-server on another port, so stopping it cannot disturb anything
else that uses the machine's Redis.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest
from django.test import Client, override_settings

from pagedoctor.demo.shop.models import Flower
from pagedoctor.demo.shop.seed import seed
from tests.services import is_reachable, under_ci

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.urls("pagedoctor.demo.urls")]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def private_redis(tmp_path: object) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    binary = shutil.which("redis-server")
    if binary is None:
        message = "redis-server is not installed (apt-get install redis-server)"
        if under_ci():
            pytest.fail(f"{message}; CI=true, so this is an error, not a skip", pytrace=False)
        pytest.skip(message)
    port = _free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        if is_reachable("127.0.0.1", port):
            break
        time.sleep(0.05)
    try:
        yield process, port
    finally:
        os.kill(process.pid, signal.SIGCONT)
        process.terminate()
        process.wait(timeout=10)


def _caches(port: int) -> dict[str, dict[str, object]]:
    return {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/0",
            # Fail fast: a stopped server must cost a page a fraction of a second, not minutes.
            "OPTIONS": {"socket_timeout": 0.3, "socket_connect_timeout": 0.3},
        }
    }


def test_a_stopped_cache_gives_no_5xx_and_no_stale_page_after(
    private_redis: tuple[subprocess.Popen[bytes], int], caplog: pytest.LogCaptureFixture
) -> None:
    process, port = private_redis
    seed(products=10)
    client = Client()
    url = "/fixed/flowers/rose/"
    with override_settings(CACHES=_caches(port)), caplog.at_level(logging.WARNING):
        assert client.get(url).status_code == 200
        assert client.get(url).status_code == 200  # now served from the cache

        os.kill(process.pid, signal.SIGSTOP)  # the server hangs: every call times out
        try:
            Flower.objects.filter(slug="rose").update(name="Stopped rose")
            for _ in range(3):
                response = client.get(url)
                assert response.status_code == 200
                assert "Stopped rose" in response.content.decode()
        finally:
            os.kill(process.pid, signal.SIGCONT)

        # The server is back with the old page still stored: the invalidation it missed is
        # sent before anything is read from it.
        response = client.get(url)
        assert response.status_code == 200
        assert "Stopped rose" in response.content.decode()
    warnings = [r.getMessage() for r in caplog.records if r.name == "pagedoctor.cache"]
    assert len([w for w in warnings if "failed" in w]) == 1
    assert any("answers again" in w for w in warnings)
