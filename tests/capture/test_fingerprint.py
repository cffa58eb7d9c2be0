from __future__ import annotations

import pytest

from pagedoctor.capture.fingerprint import fingerprint


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (
            'SELECT "a"."id" FROM "a" WHERE "a"."id" IN (%s, %s, %s)',
            'SELECT "a"."id" FROM "a" WHERE "a"."id" IN (%s)',
        ),
        ("SELECT * FROM t WHERE name = 'x' LIMIT 21", "SELECT * FROM t WHERE name = 'yy' LIMIT 5"),
        ("INSERT INTO t (a, b) VALUES (%s, %s), (%s, %s)", "INSERT INTO t (a, b) VALUES (%s, %s)"),
        ("SELECT * FROM t WHERE a = %(a)s", "SELECT * FROM t WHERE a = %s"),
    ],
)
def test_same_shape_same_fingerprint(first: str, second: str) -> None:
    assert fingerprint(first) == fingerprint(second)


def test_different_shapes_differ() -> None:
    assert fingerprint("SELECT a FROM t WHERE b = %s") != fingerprint(
        "SELECT a FROM t WHERE c = %s"
    )


def test_reads_like_sql() -> None:
    assert fingerprint('SELECT "a"."id" FROM "a" WHERE "a"."x" IN (%s, %s)') == (
        "SELECT a.id FROM a WHERE a.x IN (...)"
    )


def test_mysql_backticks() -> None:
    assert fingerprint("SELECT `a`.`id` FROM `a` WHERE `a`.`id` = %s", "mysql") == (
        "SELECT a.id FROM a WHERE a.id = ?"
    )


def test_untokenizable_sql_still_folds() -> None:
    assert fingerprint("SELECT 'unterminated") == "SELECT 'unterminated"
    assert fingerprint("SELECT x FROM t WHERE y IN (1, 2) AND z = 'abc") == fingerprint(
        "SELECT x FROM t WHERE y IN (3) AND z = 'abc"
    )
