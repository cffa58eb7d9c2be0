from __future__ import annotations

import pytest
from django.test import Client

from pagedoctor.audit.analysis import analyze
from pagedoctor.audit.runner import AuditResult, audit_pages
from pagedoctor.diagnose.findings import Finding

pytestmark = pytest.mark.django_db


def two_findings(result: AuditResult) -> list[Finding]:
    return [
        Finding(kind="slow_query", severity="low", message="a", pages=["/test/books/"]),
        Finding(kind="slow_query", severity="high", message="b", pages=["/test/books/", "/nope/"]),
    ]


def test_findings_are_numbered_by_kind_and_linked_to_their_pages() -> None:
    result = audit_pages(["/test/books/"], repeat=1, client=Client())
    findings = analyze(result, analyzers=(f"{__name__}.two_findings",))
    assert [f.id for f in findings] == ["slow_query:1", "slow_query:2"]
    assert result.findings == findings
    assert result.pages[0].findings == ["slow_query:1", "slow_query:2"]
