from __future__ import annotations

import pytest
from django.test import Client, override_settings

import pagedoctor.demo.settings
from pagedoctor.audit.runner import audit_pages
from pagedoctor.demo.shop.seed import seed
from pagedoctor.diagnose.sessions import CACHED_DB, session_storage, session_table
from pagedoctor.verify import returning_visit

pytestmark = pytest.mark.django_db(transaction=True)


def session_queries(url: str) -> list[str]:
    page = returning_visit(url)
    return [q.sql.split(None, 1)[0] for q in page.recording.queries if "django_session" in q.sql]


@pytest.mark.parametrize(
    ("engine", "table"),
    [
        ("django.contrib.sessions.backends.db", "django_session"),
        (CACHED_DB, None),
        ("django.contrib.sessions.backends.cache", None),
        ("django.contrib.sessions.backends.file", None),
        ("django.contrib.sessions.backends.signed_cookies", None),
    ],
)
def test_the_engines_that_query_on_every_request(engine: str, table: str | None) -> None:
    with override_settings(SESSION_ENGINE=engine):
        assert session_table() == table


def test_recently_viewed_products_query_the_session_table_and_cached_db_proves_it() -> None:
    seed(products=50)
    result = audit_pages(["/team/", "/products/product-1/"], repeat=2, client=Client())
    (finding,) = session_storage(result)
    assert finding.kind == "session_storage"
    assert finding.pages == ["/products/product-1/"]
    assert finding.evidence["table"] == "django_session"
    assert finding.where is not None
    assert finding.where.file == pagedoctor.demo.settings.__file__
    assert finding.fix is not None
    assert finding.fix.code == f'SESSION_ENGINE = "{CACHED_DB}"'
    # A returning visitor reads the session and writes it back (the list changed); from the
    # cache, the read is gone and the write stays.
    assert session_queries("/products/product-1/") == ["SELECT", "UPDATE"]
    with override_settings(SESSION_ENGINE=CACHED_DB):
        assert session_queries("/products/product-1/") == ["UPDATE"]
    assert finding.verified is not None
    assert finding.verified.queries_before - finding.verified.queries_after == 1
    assert finding.verified.same_output


@override_settings(SESSION_ENGINE=CACHED_DB)
def test_quiet_when_sessions_are_cached() -> None:
    seed(products=50)
    assert session_storage(audit_pages(["/products/product-1/"], repeat=2)) == []


def test_quiet_when_no_page_uses_the_session() -> None:
    seed(products=50)
    assert session_storage(audit_pages(["/team/"], repeat=2)) == []
