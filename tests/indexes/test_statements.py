from __future__ import annotations

import pytest

from pagedoctor.indexes.statements import is_single_select, parse_select

VENDORS = ["sqlite", "postgresql", "mysql"]


@pytest.mark.parametrize("vendor", VENDORS)
@pytest.mark.parametrize(
    "sql",
    [
        'SELECT "t"."id" FROM "t" WHERE "t"."kind" = %s',
        "SELECT COUNT(*) AS __count FROM t",
        "WITH x AS (SELECT id FROM t) SELECT id FROM x",
        "SELECT id FROM t WHERE name LIKE %s ORDER BY id LIMIT 21",
        "SELECT 1;",
        "SELECT a FROM t UNION SELECT a FROM u",
    ],
)
def test_plain_selects_are_accepted(sql: str, vendor: str) -> None:
    assert is_single_select(sql, vendor)
    assert parse_select(sql, vendor) is not None


@pytest.mark.parametrize("vendor", VENDORS)
@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO t (a) VALUES (%s)",
        "UPDATE t SET a = %s",
        "DELETE FROM t",
        "SELECT a FROM t; DELETE FROM t",
        "SELECT a FROM t; SELECT b FROM u",
        "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d",
        "WITH u AS (UPDATE t SET a = 1 RETURNING a) SELECT a FROM u",
        "SELECT a INTO b FROM t",
        "SELECT a FROM t FOR UPDATE",
        "CREATE TABLE x AS SELECT a FROM t",
        "DROP TABLE t",
        "not sql at all ((",
        "",
    ],
)
def test_anything_but_one_select_is_refused(sql: str, vendor: str) -> None:
    assert not is_single_select(sql, vendor)
    assert parse_select(sql, vendor) is None


@pytest.mark.parametrize("vendor", ["sqlite", "postgresql"])
def test_like_with_django_s_escape_clause_is_a_select(vendor: str) -> None:
    assert is_single_select("SELECT id FROM t WHERE name LIKE %s ESCAPE '\\'", vendor)


def test_a_select_mentioning_a_write_in_a_string_is_still_a_select() -> None:
    # Read by the parser, not by keywords: the word is a value here.
    assert is_single_select("SELECT id FROM t WHERE note = 'DELETE FROM t'", "postgresql")
