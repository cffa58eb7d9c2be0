from __future__ import annotations

import io
import os
import pty
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.test import Client
from rich.console import Console

from pagedoctor.audit.command import _dot
from pagedoctor.audit.progress import AuditProgress, current, on_terminal
from pagedoctor.audit.runner import audit_pages
from tests.testapp.models import Author, Book


@contextmanager
def terminal() -> Iterator[tuple[Console, list[bytes]]]:
    """Yield a console writing to a real pseudo-terminal, and what arrives at its other end."""
    controller, device = pty.openpty()
    received: list[bytes] = []

    def read() -> None:
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # the terminal was closed
                return
            if not chunk:
                return
            received.append(chunk)

    # Read while writing: a terminal's buffer is small, and a full one blocks the writer.
    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    with open(device, "w", encoding="utf-8", closefd=True) as file:
        yield Console(file=file, width=100), received
    reader.join(timeout=5)
    os.close(controller)


def test_a_terminal_shows_the_bar_with_the_count_and_the_url() -> None:
    with terminal() as (console, received):
        assert on_terminal(console)
        with AuditProgress(console) as progress:
            progress.page_done("/pizzas/", total=3)
            progress.page_done("/[bold]team[/bold]/", total=3)
            progress.step("verifying fixes")

    shown = b"".join(received).decode()
    assert "\x1b[" in shown
    assert "requesting pages" in shown
    assert "2/3" in shown
    assert "/[bold]team[/bold]/" in shown  # the site's text, not read as markup
    assert "verifying fixes" in shown


@pytest.mark.parametrize(
    "console",
    [
        Console(file=io.StringIO()),  # a file or a pipe: CI logs
        Console(file=io.StringIO(), force_terminal=True),  # FORCE_COLOR in CI: colour, no bar
    ],
)
def test_logs_and_files_get_no_bar(console: Console) -> None:
    with AuditProgress(console) as progress:
        progress.page_done("/pizzas/", total=1)
        progress.step("verifying fixes")

    assert not progress.enabled
    assert console.file.getvalue() == ""  # type: ignore[attr-defined]


def test_quiet_and_dumb_terminals_get_no_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    with terminal() as (console, _):
        console.quiet = True
        assert not on_terminal(console)
        console.quiet = False
        monkeypatch.setenv("TERM", "dumb")
        assert not on_terminal(console)


def test_the_progress_is_current_only_inside_its_block() -> None:
    progress = AuditProgress(Console(file=io.StringIO()))
    assert current() is None
    with progress:
        assert current() is progress
    assert current() is None


@pytest.mark.django_db
def test_each_audited_page_moves_the_bar_and_a_failed_one_is_printed_above_it() -> None:
    Book.objects.create(title="b", author=Author.objects.create(name="a"))
    with terminal() as (console, received), AuditProgress(console):
        audit_pages(
            ["/test/books/", "/test/boom/"],
            repeat=1,
            client=Client(),
            progress=_dot(console, total=2),
        )

    shown = b"".join(received).decode()
    assert "/test/boom/ answered 500" in shown
    assert shown.index("✗") < shown.index("/test/boom/ answered 500")
    assert "2/2" in shown
