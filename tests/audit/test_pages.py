from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client, override_settings
from django.urls import path, re_path

from pagedoctor.audit import pages
from pagedoctor.exceptions import AuditError


def view() -> None:  # pragma: no cover - never called, only routed
    raise AssertionError


def test_routes_without_parameters() -> None:
    patterns = [
        path("", view),
        path("pizzas/", view),
        path("pizzas/<int:pk>/", view),
        re_path(r"^about/$", view),
        re_path(r"^items/(?P<pk>\d+)/$", view),
        re_path(r"^any.*$", view),
    ]
    assert pages.routes_without_parameters(patterns) == ["/", "/pizzas/", "/about/"]


def test_normalize() -> None:
    assert pages.normalize(" /a/?b=1 ") == "/a/?b=1"
    assert pages.normalize("http://example.com/x/?y=2") == "/x/?y=2"
    with pytest.raises(AuditError, match="start with '/'"):
        pages.normalize("pizzas/")


def test_url_file(tmp_path: Path) -> None:
    urls = tmp_path / "urls.txt"
    urls.write_text("# pages\n/a/\n\n/b/  # the b page\n")
    assert pages.read_url_file(str(urls)) == ["/a/", "/b/"]


def test_missing_url_file_names_the_file_and_the_fix(tmp_path: Path) -> None:
    with pytest.raises(AuditError, match=r"cannot read the URL file .*one path per line"):
        pages.read_url_file(str(tmp_path / "nope.txt"))


@pytest.mark.parametrize(
    ("url", "safe"),
    [
        ("/pizzas/", True),
        ("/admin/", False),
        ("/accounts/logout/", False),
        ("/cart/delete/", False),
        ("/static/app.css", False),
    ],
)
def test_destructive_or_pointless_pages_are_not_discovered(url: str, safe: bool) -> None:
    assert pages.is_safe(url) is safe


@pytest.mark.django_db
def test_discover_puts_configured_pages_first_and_dedupes() -> None:
    with override_settings(PAGEDOCTOR={"AUDIT_URLS": ["/test/books/", "/admin/"]}):
        found = pages.discover(Client())
    assert found[:2] == ["/test/books/", "/admin/"]  # configured pages are trusted
    assert len(found) == len(set(found))
    assert "/test/boom/" in found
