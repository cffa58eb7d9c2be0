"""The query-waste analyzer of the audit: N+1 and duplicate queries, merged across pages."""

from __future__ import annotations

from pagedoctor.audit.runner import AuditResult
from pagedoctor.diagnose.api import diagnose
from pagedoctor.diagnose.findings import Finding


def _root_cause(finding: Finding) -> tuple[object, ...]:
    fix = finding.fix
    where = finding.where
    return (
        finding.kind,
        finding.evidence.get("model"),
        finding.evidence.get("relation"),
        finding.evidence.get("operation"),
        finding.evidence.get("method"),
        (fix.file, fix.line) if fix else None,
        (where.file, where.line) if where else None,
    )


def query_waste(result: AuditResult) -> list[Finding]:
    """Diagnose every page, merge one root cause seen on several pages, and verify each fix."""
    from pagedoctor.verify import verify

    merged: dict[tuple[object, ...], Finding] = {}
    for page in result.pages:
        if not page.ok:
            continue
        for finding in diagnose(page.recording):
            key = _root_cause(finding)
            if key in merged:
                merged[key].pages.append(page.url)
            else:
                finding.pages = [page.url]
                merged[key] = finding
    findings = list(merged.values())
    for finding in findings:
        verify(finding)
    return findings
