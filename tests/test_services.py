from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from tests.services import is_reachable, require_service, unreachable_reason


@pytest.fixture
def listening_port() -> Iterator[int]:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_a_listening_port_is_reachable(listening_port: int) -> None:
    assert is_reachable("127.0.0.1", listening_port)
    assert unreachable_reason("anything", "127.0.0.1", listening_port) is None
    require_service("anything", "127.0.0.1", listening_port)  # neither skips nor fails


def test_a_closed_port_is_not(closed_port: int) -> None:
    assert not is_reachable("127.0.0.1", closed_port)


def test_a_known_service_says_how_to_start_it(closed_port: int) -> None:
    reason = unreachable_reason("redis", port=closed_port)
    assert reason == (
        f"Redis is not reachable at 127.0.0.1:{closed_port}; start it with: redis-server"
        ' --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no'
        " --dir /var/lib/redis --logfile /var/log/redis/ci.log"
    )


def test_a_missing_service_skips_on_a_developers_machine(
    closed_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="Redis is not reachable"):
        require_service("redis", port=closed_port)


def test_a_missing_service_fails_under_ci(
    closed_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true, so this is an error"):
        require_service("memcached", port=closed_port)


def test_an_unknown_service_needs_an_address() -> None:
    with pytest.raises(ValueError, match="needs host= and port="):
        require_service("kafka")
