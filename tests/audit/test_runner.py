from __future__ import annotations

from typing import Any

import django
import pytest
from django.test import Client

from pagedoctor.audit.command import audit_overrides
from pagedoctor.audit.runner import audit_pages, request_page
from tests.testapp.models import Author, Book

pytestmark = pytest.mark.django_db


@pytest.fixture
def books() -> None:
    for i in range(3):
        Book.objects.create(title=f"b{i}", author=Author.objects.create(name=f"a{i}"))


def test_a_page_is_recorded(books: None) -> None:
    page = request_page(Client(), "/test/books/")
    assert page.status == 200
    assert page.ok
    assert len(page.recording.queries) == 4
    assert page.bytes == len("b0 by a0\nb1 by a1\nb2 by a2")


def test_a_page_that_raises_is_a_500_with_its_traceback(books: None) -> None:
    result = audit_pages(["/test/boom/", "/test/books/"], repeat=1)
    boom, books_page = result.pages
    assert boom.status == 500
    assert boom.error is not None
    assert boom.error.splitlines()[-1] == "ValueError: boom"
    assert len(boom.recording.queries) == 1  # what ran before it raised is still there
    assert books_page.status == 200
    assert not result.ok


def test_the_audit_changes_no_data() -> None:
    Author.objects.create(name="kept")
    result = audit_pages(["/test/write/"], repeat=2)
    assert result.pages[0].status == 200
    assert len([q for q in result.pages[0].recording.queries if q.sql.startswith("INSERT")]) == 1
    assert list(Author.objects.values_list("name", flat=True)) == ["kept"]


def test_repeat_reports_the_last_run(books: None) -> None:
    result = audit_pages(["/test/books/"], repeat=3)
    assert len(result.pages) == 1
    assert len(result.pages[0].recording.queries) == 4
    with pytest.raises(ValueError, match="at least 1"):
        audit_pages(["/"], repeat=0)


def test_site_info() -> None:
    result = audit_pages([], repeat=1)
    assert set(result.site) == {"settings", "database", "cache"}
    assert result.site["cache"] == "locmem"


@pytest.mark.skipif(django.VERSION >= (6, 1), reason="Django 6.1 configures email with MAILERS")
def test_overrides_never_send_real_mail_with_email_backend(settings: Any) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.ALLOWED_HOSTS = ["example.com"]
    overrides = audit_overrides()
    assert overrides["EMAIL_BACKEND"] == "django.core.mail.backends.locmem.EmailBackend"
    assert overrides["ALLOWED_HOSTS"] == ["example.com", "testserver"]
    settings.EMAIL_BACKEND = "pagedoctor.demo.shop.mail.SlowEmailBackend"  # a locmem subclass
    settings.ALLOWED_HOSTS = ["*"]
    assert audit_overrides() == {}


def test_overrides_never_send_real_mail_with_mailers(settings: Any) -> None:
    settings.MAILERS = {
        "default": {"BACKEND": "django.core.mail.backends.smtp.EmailBackend"},
        "slow": {"BACKEND": "pagedoctor.demo.shop.mail.SlowEmailBackend"},
        "other": {},  # BACKEND defaults to SMTP
    }
    assert audit_overrides()["MAILERS"] == {
        "default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"},
        "slow": {"BACKEND": "pagedoctor.demo.shop.mail.SlowEmailBackend"},
        "other": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"},
    }
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    assert "MAILERS" not in audit_overrides()
