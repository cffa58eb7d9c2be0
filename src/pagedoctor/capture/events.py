"""The events a Recording holds: one per SQL query, cache call and template render."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from pagedoctor.capture.fingerprint import fingerprint

if TYPE_CHECKING:
    from pagedoctor.capture.orm import OrmContext


@dataclass(frozen=True, slots=True)
class CallSite:
    """A place in the user's code: the first frame outside Django and libraries."""

    file: str
    line: int
    function: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line} in {self.function}"


@dataclass(frozen=True, slots=True)
class TemplateSite:
    """A line of a template, for events that happen while a template renders."""

    name: str
    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(eq=False)
class QueryEvent:
    """One SQL statement sent to a database."""

    alias: str
    vendor: str
    sql: str
    params: Any
    many: bool
    duration_ms: float
    started: float
    callsite: CallSite | None
    template: TemplateSite | None = None
    error: str | None = None
    orm: OrmContext | None = None

    @cached_property
    def fingerprint(self) -> str:
        """Return the statement's shape: literals and ``IN (...)`` lists folded."""
        return fingerprint(self.sql, self.vendor)

    @cached_property
    def identity(self) -> tuple[str, str, str]:
        """Return what makes two executions the same query: alias, SQL and parameters."""
        return (self.alias, self.sql, repr(self.params))

    @property
    def is_select(self) -> bool:
        head = self.sql.lstrip().split(None, 1)
        return bool(head) and head[0].upper() in {"SELECT", "WITH"}


@dataclass(eq=False)
class CacheEvent:
    """One call on a Django cache: ``get``, ``set``, ``get_or_set``, ``get_many`` ..."""

    alias: str
    operation: str
    keys: tuple[str, ...]
    hits: int
    misses: int
    duration_ms: float
    started: float
    callsite: CallSite | None
    error: str | None = None


@dataclass(eq=False)
class TemplateEvent:
    """One template rendered, with how long it took (including what it included)."""

    name: str
    duration_ms: float
    started: float
    depth: int
    origin: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
