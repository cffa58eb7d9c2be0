"""Finding and Fix: what is wrong, where, with what evidence, and the exact change that fixes it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["high", "medium", "low"]


@dataclass
class Where:
    """A place in the site's code or templates (``file`` as recorded, absolute or relative)."""

    file: str
    line: int
    function: str | None = None


@dataclass
class Fix:
    """The exact change to make: code to write at a place, a migration, or a setting."""

    summary: str
    code: str | None = None
    file: str | None = None
    line: int | None = None


@dataclass
class Verification:
    """What happened when the page was run again with the fix applied."""

    queries_before: int
    queries_after: int
    ms_before: float
    ms_after: float
    same_output: bool


@dataclass
class Finding:
    """One reason a page is slow, with its evidence and, where known, its fix."""

    kind: str
    severity: Severity
    message: str
    where: Where | None = None
    pages: list[str] = field(default_factory=list)
    evidence: dict[str, Any] = field(default_factory=dict)
    fix: Fix | None = None
    verified: Verification | None = None
    id: str = ""
    # How to apply the fix at run time, for verification (not part of the report).
    remedy: Any = field(default=None, repr=False, compare=False)
