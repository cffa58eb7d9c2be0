"""Find out whether a service the tests need is running, and skip or fail when it is not.

The rule (STYLE.md): a test that needs a service missing on a developer's machine skips with the
reason; under ``CI=true`` it fails instead, so a green CI run never hides skipped backends.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass

import pytest


@dataclass(frozen=True)
class Service:
    """A server the tests talk to, and the command that starts it on this project's machines."""

    name: str
    host: str
    port: int
    start: str


KNOWN_SERVICES: dict[str, Service] = {
    service.name.lower(): service
    for service in (
        Service(
            "PostgreSQL",
            "127.0.0.1",
            5432,
            "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
        ),
        Service(
            "MariaDB",
            "127.0.0.1",
            3306,
            "start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd",
        ),
        Service(
            "Redis",
            "127.0.0.1",
            6379,
            'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" '
            "--appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log",
        ),
        Service(
            "Memcached",
            "127.0.0.1",
            11211,
            "apt-get install -y memcached && memcached -d -u memcache -l 127.0.0.1 -p 11211",
        ),
    )
}
KNOWN_SERVICES.update(
    postgres=KNOWN_SERVICES["postgresql"],
    mysql=KNOWN_SERVICES["mariadb"],
    memcache=KNOWN_SERVICES["memcached"],
)


def under_ci() -> bool:
    """Return whether this run is CI's, where a missing service is an error, not a skip."""
    return os.environ.get("CI", "").lower() == "true"


def is_reachable(host: str, port: int, *, timeout: float = 1.0) -> bool:
    """Return whether a TCP connection to host:port succeeds within timeout seconds."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def unreachable_reason(name: str, host: str | None = None, port: int | None = None) -> str | None:
    """Return why service name cannot be used at host:port, or None when it answers.

    name is one of KNOWN_SERVICES ("redis"), whose address is the default, or any name with an
    explicit host and port.
    """
    known = KNOWN_SERVICES.get(name.lower())
    host = host or (known.host if known else None)
    port = port or (known.port if known else None)
    if host is None or port is None:
        raise ValueError(f"require_service({name!r}) needs host= and port=: it is not a known one")
    if is_reachable(host, port):
        return None
    label = known.name if known else name
    reason = f"{label} is not reachable at {host}:{port}"
    if known:
        reason += f"; start it with: {known.start}"
    return reason


def require_service(name: str, host: str | None = None, port: int | None = None) -> None:
    """Skip the calling test when the service is down; under CI=true, fail it instead.

    Call it from a test or fixture: ``require_service("redis")``.
    """
    reason = unreachable_reason(name, host, port)
    if reason is None:
        return
    if under_ci():
        pytest.fail(f"{reason} (CI=true, so this is an error, not a skip)", pytrace=False)
    pytest.skip(reason)
