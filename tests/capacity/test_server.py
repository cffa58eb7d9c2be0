"""gunicorn as a subprocess: it serves the site, explains why it cannot, and never outlives us."""

from __future__ import annotations

import http.client
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from pagedoctor.capacity.errors import CapacityError, ServerError
from pagedoctor.capacity.server import Server, ServerOptions, check_pages, serve
from tests.capacity.conftest import (
    DEMO_SETTINGS,
    only_once_per_matrix,
    processes_marked,
    wait_for_processes,
)

pytestmark = [only_once_per_matrix, pytest.mark.usefixtures("demo_database")]


def get(server: Server, path: str) -> tuple[int, bytes]:
    address = urlsplit(server.base_url)
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=30)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@pytest.fixture
def marker(monkeypatch: pytest.MonkeyPatch) -> str:
    """Mark the processes started from here on, so the test can look for leftovers."""
    value = uuid.uuid4().hex
    monkeypatch.setenv("PAGEDOCTOR_TEST_RUN", value)
    return f"PAGEDOCTOR_TEST_RUN={value}"


def test_the_site_is_served_on_a_free_loopback_port(demo_server: Server) -> None:
    assert demo_server.base_url.startswith("http://127.0.0.1:")
    assert not demo_server.base_url.endswith(":0")
    status, body = get(demo_server, "/fixed/pizzas/")
    assert status == 200
    assert b"Margherita" in body


def test_only_pages_that_answer_200_are_loaded(demo_server: Server) -> None:
    check_pages(demo_server, ["/", "/fixed/pizzas/"])
    expected = "/admin/ answered 302; /no-such-page/ answered 404; pass the pages"
    with pytest.raises(CapacityError, match=expected):
        check_pages(demo_server, ["/fixed/", "/admin/", "/no-such-page/"])


def _serve_then_fail(marker: str) -> None:
    with serve(ServerOptions(settings_module=DEMO_SETTINGS, workers=2)) as server:
        assert get(server, "/")[0] == 200
        assert len(wait_for_processes(marker, 3)) >= 3  # the master and both workers
        raise RuntimeError("boom")


def test_the_server_and_its_workers_are_gone_after_an_exception(marker: str) -> None:
    with pytest.raises(RuntimeError, match="boom"):
        _serve_then_fail(marker)
    assert processes_marked(marker) == []


@pytest.mark.parametrize(
    ("settings_module", "env", "message"),
    [
        ("no_such_project.settings", {}, "could not import 'no_such_project'"),
        (DEMO_SETTINGS, {"PAGEDOCTOR_DEMO_DB": "oracle"}, "PAGEDOCTOR_DEMO_DB must be sqlite"),
    ],
)
def test_bad_settings_are_a_clear_error_and_leave_nothing_running(
    monkeypatch: pytest.MonkeyPatch,
    marker: str,
    settings_module: str,
    env: dict[str, str],
    message: str,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with (
        pytest.raises(ServerError, match=message) as raised,
        serve(ServerOptions(settings_module=settings_module)),
    ):
        pytest.fail("the server started")  # pragma: no cover
    assert settings_module in str(raised.value)
    assert processes_marked(marker) == []


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield taken.getsockname()[1]


def test_a_port_in_use_is_a_clear_error(busy_port: int, marker: str) -> None:
    options = ServerOptions(settings_module=DEMO_SETTINGS, port=busy_port)
    expected = f"port {busy_port} on 127.0.0.1 is in use; pass another --port"
    with pytest.raises(ServerError, match=expected), serve(options):
        pytest.fail("the server started")  # pragma: no cover
    assert processes_marked(marker) == []


def test_ipv6_loopback_is_served_when_the_machine_has_it(marker: str) -> None:
    if not Path("/proc/net/if_inet6").exists():
        pytest.skip("this machine has no IPv6")
    with serve(ServerOptions(settings_module=DEMO_SETTINGS, host="::1")) as server:
        assert server.base_url.startswith("http://[::1]:")
        assert get(server, "/fixed/")[0] == 200
    assert processes_marked(marker) == []
