from __future__ import annotations

import logging
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import AsyncClient, Client, override_settings
from django.test.utils import CaptureQueriesContext

from tests.testapp.models import Author, Book

pytestmark = pytest.mark.django_db


@pytest.fixture
def books() -> None:
    for i in range(3):
        Book.objects.create(title=f"b{i}", author=Author.objects.create(name=f"a{i}"))


def timing(response: object) -> dict[str, str]:
    header = response.headers["Server-Timing"]  # type: ignore[attr-defined]
    return {part.split(";")[0].strip(): part for part in header.split(",")}


@override_settings(DEBUG=True)
def test_server_timing_in_debug(books: None, client: Client) -> None:
    response = client.get("/test/books/")
    parts = timing(response)
    assert set(parts) == {"db", "cache", "tpl", "total"}
    assert 'desc="4 queries"' in parts["db"]
    assert "SELECT" not in response.headers["Server-Timing"]


def test_no_server_timing_for_the_public(books: None, client: Client) -> None:
    response = client.get("/test/books/")
    assert "Server-Timing" not in response.headers


def test_server_timing_for_staff(books: None, client: Client) -> None:
    staff = User.objects.create_user("staff", password="x", is_staff=True)
    client.force_login(staff)
    assert "Server-Timing" in client.get("/test/whoami/").headers


def test_the_staff_check_adds_no_query(books: None, client: Client) -> None:
    client.force_login(User.objects.create_user("staff", password="x", is_staff=True))
    with CaptureQueriesContext(connection) as checked:
        response = client.get("/test/books/")
    with (
        override_settings(PAGEDOCTOR={"SERVER_TIMING": "never"}),
        CaptureQueriesContext(connection) as unchecked,
    ):
        client.get("/test/books/")
    # The page never loads the user, so neither does the middleware: no header, no extra query.
    assert "Server-Timing" not in response.headers
    assert len(checked.captured_queries) == len(unchecked.captured_queries) == 4


@override_settings(DEBUG=True, PAGEDOCTOR={"SERVER_TIMING": "never"})
def test_server_timing_never(books: None, client: Client) -> None:
    assert "Server-Timing" not in client.get("/test/books/").headers


@override_settings(PAGEDOCTOR={"SERVER_TIMING": "always"})
def test_server_timing_always(books: None, client: Client) -> None:
    assert "Server-Timing" in client.get("/test/books/").headers


@pytest.mark.django_db(transaction=True)
@override_settings(DEBUG=True)
def test_async_view_through_async_client(books: None) -> None:
    import asyncio

    async def go() -> object:
        return await AsyncClient().get("/test/abooks/")

    response: Any = asyncio.run(go())
    assert response.status_code == 200
    recording = response.asgi_request.pagedoctor
    assert len([q for q in recording.queries if "testapp_" in q.sql]) == 2
    assert f'desc="{len(recording.queries)} queries"' in timing(response)["db"]


@override_settings(PAGEDOCTOR={"SAMPLE_RATE": 0}, DEBUG=True)
def test_sampling_rate_zero_records_nothing(books: None, client: Client) -> None:
    response = client.get("/test/books/")
    assert "Server-Timing" not in response.headers
    assert not hasattr(response.wsgi_request, "pagedoctor")


def test_logs_a_summary_and_each_query(
    books: None, client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="pagedoctor"):
        client.get("/test/books/")
    summary = [r.getMessage() for r in caplog.records if r.name == "pagedoctor.request"]
    assert len(summary) == 1
    assert summary[0].startswith("GET /test/books/ 200 ")
    assert "4 queries" in summary[0]
    queries = [r.getMessage() for r in caplog.records if r.name == "pagedoctor.sql"]
    assert len(queries) == 4
    assert "tests/testapp/views.py:" in queries[0]
    assert "in books" in queries[0]


def test_ignored_paths_are_not_recorded(client: Client) -> None:
    with override_settings(DEBUG=True, PAGEDOCTOR={"IGNORE_PATHS": ["/test/"]}):
        response = client.get("/test/books/")
    assert "Server-Timing" not in response.headers


@override_settings(DEBUG=True)
def test_logs_each_finding_once_with_its_fix(
    books: None, client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="pagedoctor.findings"):
        client.get("/test/books/")
        client.get("/test/books/")
    (message,) = [r.getMessage() for r in caplog.records if r.name == "pagedoctor.findings"]
    assert message.startswith("GET /test/books/: Book.author is loaded once per book (3 queries)")
    assert 'fix: Book.objects.select_related("author") at tests/testapp/views.py:' in message


def test_no_finding_logs_in_production(
    books: None, client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="pagedoctor.findings"):
        client.get("/test/books/")
    assert [r for r in caplog.records if r.name == "pagedoctor.findings"] == []
