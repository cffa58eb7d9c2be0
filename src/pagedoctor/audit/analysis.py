"""Turn an audit's recorded pages into findings, numbered and linked to their pages.

Each analyzer takes the whole AuditResult (so that one root cause seen on several pages becomes
one finding) and returns Findings whose ``pages`` list the URLs it was seen on. Analyzers that
re-run pages to verify a fix do so in rolled-back transactions (see ``runner.rolled_back``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from django.utils.module_loading import import_string

from pagedoctor.audit.runner import AuditResult
from pagedoctor.diagnose.findings import Finding

Analyzer = Callable[[AuditResult], list[Finding]]

# Dotted paths, so that an analyzer's module is imported only when an audit runs.
ANALYZERS: tuple[str, ...] = (
    "pagedoctor.diagnose.audit.query_waste",
    "pagedoctor.indexes.advisor.analyze_indexes",
    "pagedoctor.diagnose.caching.page_caching",
    "pagedoctor.diagnose.sessions.session_storage",
)


def analyze(result: AuditResult, *, analyzers: tuple[str, ...] = ANALYZERS) -> list[Finding]:
    """Run every analyzer, give each finding an id, and list the ids on the pages it names."""
    findings: list[Finding] = []
    for path in analyzers:
        analyzer: Analyzer = import_string(path)
        findings += analyzer(result)
    numbers: Counter[str] = Counter()
    for finding in findings:
        numbers[finding.kind] += 1
        finding.id = f"{finding.kind}:{numbers[finding.kind]}"
    by_url = {page.url: page for page in result.pages}
    for finding in findings:
        for url in finding.pages:
            if url in by_url:
                by_url[url].findings.append(finding.id)
    result.findings = findings
    return findings
