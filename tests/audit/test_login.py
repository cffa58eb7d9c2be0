from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from rich.console import Console

from pagedoctor.audit.command import request_pages
from pagedoctor.audit.login import find_user, logged_in
from pagedoctor.audit.runner import site_info
from pagedoctor.exceptions import AuditError

LAST_LOGIN = datetime(2017, 4, 1, tzinfo=UTC)


@pytest.fixture
def alice() -> User:
    return User.objects.create_user("alice", last_login=LAST_LOGIN)


def audit_as(user: str | None, *urls: str) -> tuple[list[Any], str]:
    out = io.StringIO()
    options = {"urls": list(urls), "user": user}
    result = request_pages(options, Console(file=out, width=200), command="audit", repeat=2)
    return result.pages, out.getvalue()


def digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


@pytest.mark.django_db(transaction=True)
def test_pages_are_requested_as_the_user_and_the_login_leaves_no_trace(alice: User) -> None:
    pages, out = audit_as("alice", "/test/whoami/")
    assert pages[0].status == 200
    assert pages[0].digest == digest(b"alice")
    assert f"Requesting 1 page of {site_info()['settings']} as alice (1 given) …" in out
    # Logged out at the end, and last_login put back: the data is as it was.
    assert Session.objects.count() == 0
    alice.refresh_from_db()
    assert alice.last_login == LAST_LOGIN


@pytest.mark.django_db(transaction=True)
def test_the_login_is_not_part_of_any_page(alice: User) -> None:
    pages, _ = audit_as("alice", "/test/whoami/")
    sql = [query.sql for query in pages[0].recording.queries]
    # The page reads the session and the user, as every logged-in request does; it writes nothing.
    assert any("django_session" in statement for statement in sql)
    assert not any(statement.lstrip().upper().startswith(("INSERT", "UPDATE")) for statement in sql)


@pytest.mark.django_db
def test_the_login_is_not_recorded_even_inside_a_recording(alice: User) -> None:
    from pagedoctor.capture.recording import record

    client = Client()
    with record() as recording, logged_in(client, "alice"):
        assert client.get("/test/whoami/").content == b"alice"
    # Only the page: its session and user reads, none of the login's writes.
    assert not any(query.sql.lstrip().upper().startswith("INSERT") for query in recording.queries)
    assert any("django_session" in query.sql for query in recording.queries)


@pytest.mark.django_db
def test_without_user_pages_are_anonymous() -> None:
    pages, out = audit_as(None, "/test/whoami/")
    assert pages[0].digest == digest(b"")
    assert " as " not in out


@pytest.mark.django_db
def test_an_unknown_user_names_the_problem_and_the_fix() -> None:
    with pytest.raises(AuditError) as raised:
        find_user("nobody")
    assert str(raised.value) == (
        "--user 'nobody': no auth.User has username 'nobody'; pass the username of an existing "
        "user (python manage.py createsuperuser makes one)"
    )


@pytest.mark.django_db
def test_an_inactive_user_is_refused(alice: User) -> None:
    alice.is_active = False
    alice.save()
    with pytest.raises(AuditError, match=r"'alice' is inactive .*pass an active user"):
        find_user("alice")


@pytest.mark.django_db
def test_no_login_without_a_user() -> None:
    client = Client()
    with logged_in(client, None):
        assert client.cookies == {}


@pytest.mark.django_db
def test_the_command_line_reports_an_unknown_user_without_a_traceback() -> None:
    with pytest.raises(CommandError, match=r"--user 'nobody': no auth\.User has username"):
        call_command("pagedoctor", "audit", "/test/whoami/", "--user", "nobody")
