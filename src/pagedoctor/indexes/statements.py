"""Read a recorded statement with sqlglot: only one plain SELECT may be explained or timed."""

from __future__ import annotations

from functools import lru_cache

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from pagedoctor.capture.fingerprint import DIALECTS, PLACEHOLDER

# Anything that writes, changes the schema, locks rows or changes the session.
_UNSAFE = (
    exp.DML,
    exp.DDL,
    exp.Command,
    exp.Into,
    exp.Lock,
    exp.Transaction,
    exp.Commit,
    exp.Rollback,
    exp.Set,
    exp.Pragma,
    exp.Use,
    exp.Copy,
)


def parse_select(sql: str, vendor: str) -> exp.Query | None:
    """Return ``sql`` parsed, if it is exactly one SELECT that writes and locks nothing.

    ``SELECT ...; DELETE ...``, a CTE holding an ``INSERT``/``UPDATE``/``DELETE``,
    ``SELECT ... INTO`` and ``SELECT ... FOR UPDATE`` are all refused, as is SQL sqlglot cannot
    read: when in doubt, pagedoctor does not send it.
    """
    parsed = _parse(sql, DIALECTS.get(vendor, ""))
    return parsed.copy() if parsed is not None else None


def is_single_select(sql: str, vendor: str) -> bool:
    """Return whether ``sql`` is one SELECT that pagedoctor may EXPLAIN and run again."""
    return _parse(sql, DIALECTS.get(vendor, "")) is not None


@lru_cache(maxsize=1024)
def _parse(sql: str, dialect: str) -> exp.Query | None:
    text = PLACEHOLDER.sub("?", sql).replace("%%", "%")
    try:
        statements = sqlglot.parse(text, read=dialect or None)
    except SqlglotError:
        return None
    if len(statements) != 1:
        return None
    root = statements[0]
    if not isinstance(root, exp.Query) or isinstance(root, exp.DML):
        return None
    if any(isinstance(node, _UNSAFE) for node in root.walk()):
        return None
    return root
