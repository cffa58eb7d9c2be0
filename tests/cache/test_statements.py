from __future__ import annotations

import pytest

from pagedoctor.cache import tags
from pagedoctor.cache.statements import analyze

PKS = {"shop_flower": "id", "shop_pizza": "id"}


def read(sql: str, params: object = (), vendor: str = "postgresql") -> set[str]:
    return tags.read_tags(analyze(sql, vendor, PKS), params, False)


def written(
    sql: str, params: object = (), vendor: str = "postgresql", many: bool = False
) -> set[str]:
    return tags.write_tags(analyze(sql, vendor, PKS), params, many)


def test_a_read_by_primary_key_depends_on_the_row() -> None:
    sql = 'SELECT "shop_flower"."name" FROM "shop_flower" WHERE "shop_flower"."id" = %s LIMIT 21'
    assert read(sql, [5]) == {"r:shop_flower:5", "a:shop_flower"}


def test_a_read_of_several_keys_depends_on_each_row() -> None:
    sql = 'SELECT * FROM "shop_flower" WHERE ("shop_flower"."id" IN (%s, %s) AND "name" = %s)'
    assert read(sql, [1, 2, "x"]) == {"r:shop_flower:1", "r:shop_flower:2", "a:shop_flower"}


def test_a_read_by_another_column_or_with_or_depends_on_the_table() -> None:
    assert read('SELECT * FROM "shop_flower" WHERE "name" = %s', ["x"]) == {"t:shop_flower"}
    sql = 'SELECT * FROM "shop_flower" WHERE "id" = %s OR "name" = %s'
    assert read(sql, [1, "x"]) == {"t:shop_flower"}


def test_a_join_depends_on_every_table() -> None:
    sql = (
        'SELECT * FROM "shop_pizza" INNER JOIN "shop_flower" ON ("shop_pizza"."id" = '
        '"shop_flower"."id") WHERE "shop_pizza"."id" = %s'
    )
    assert read(sql, [1]) == {"t:shop_pizza", "t:shop_flower"}


def test_parameters_keep_their_positions() -> None:
    sql = 'UPDATE "shop_flower" SET "name" = %s, "price" = %s WHERE "shop_flower"."id" = %s'
    assert written(sql, ["rose", 3, 9]) == {"t:shop_flower", "r:shop_flower:9"}


def test_executemany_pins_every_row() -> None:
    sql = 'DELETE FROM "shop_flower" WHERE "id" = %s'
    assert written(sql, [[1], [2]], many=True) == {
        "t:shop_flower",
        "r:shop_flower:1",
        "r:shop_flower:2",
    }


def test_an_insert_may_change_any_row() -> None:
    sql = 'INSERT INTO "shop_flower" ("name") VALUES (%s) RETURNING "shop_flower"."id"'
    assert written(sql, ["x"]) == {"t:shop_flower", "a:shop_flower"}


def test_dml_inside_a_cte_is_a_write() -> None:
    sql = 'WITH gone AS (DELETE FROM "shop_flower" RETURNING "id") SELECT * FROM gone'
    assert written(sql) == {"t:shop_flower", "a:shop_flower"}


@pytest.mark.parametrize(
    "sql",
    ["ALTER TABLE shop_flower ADD COLUMN x int", "UPDATE shop_flower SET name = (", "CALL reset()"],
)
def test_what_cannot_be_read_changes_everything(sql: str) -> None:
    assert written(sql) == {tags.EVERYTHING}


@pytest.mark.parametrize("sql", ["SAVEPOINT s1", "RELEASE SAVEPOINT s1", "SET search_path = x"])
def test_transaction_control_changes_nothing(sql: str) -> None:
    assert written(sql) == set()


def test_mysql_backticks() -> None:
    sql = "SELECT `shop_flower`.`id` FROM `shop_flower` WHERE `shop_flower`.`id` = %s"
    assert read(sql, [3], vendor="mysql") == {"r:shop_flower:3", "a:shop_flower"}


def test_uuid_keys_read_the_same_however_they_are_passed() -> None:
    import uuid

    value = uuid.uuid4()
    assert tags.row("t", value) == tags.row("t", str(value)) == tags.row("t", value.hex)


def test_a_write_behind_a_set_is_still_a_write() -> None:
    sql = "SET LOCAL lock_timeout = '5s'; UPDATE shop_flower SET name = 'x' WHERE id = 3"
    assert written(sql) == {"t:shop_flower", "r:shop_flower:3"}


def test_a_write_to_a_table_no_model_has_changes_everything() -> None:
    # sqlglot reads MySQL's modifier as the table's name; pagedoctor must not trust that.
    sql = "UPDATE LOW_PRIORITY `shop_flower` SET name = 'x' WHERE id = 3"
    assert written(sql, vendor="mysql") == {tags.EVERYTHING}
