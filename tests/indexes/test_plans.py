from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from pagedoctor.indexes.plans import UnsafeStatement, explain, read_plan
from tests.testapp.models import Gadget


def sql_of(queryset: object) -> tuple[str, tuple[object, ...]]:
    sql, params = queryset.query.sql_with_params()  # type: ignore[attr-defined]
    return sql, tuple(params)


@pytest.mark.django_db
def test_a_filter_on_an_unindexed_column_is_a_full_scan() -> None:
    Gadget.objects.bulk_create(
        Gadget(kind="a", color="c", serial=str(n), maker="m", size=1, created="2017-01-01T00:00Z")
        for n in range(20)
    )
    plan = explain(connection, *sql_of(Gadget.objects.filter(kind="a")))
    assert plan.scans("testapp_gadget")
    assert not plan.uses_index("testapp_gadget")
    assert "every row of testapp_gadget" in plan.describe()


@pytest.mark.usefixtures("gadgets")
def test_a_filter_on_an_indexed_column_uses_the_index() -> None:
    plan = explain(connection, *sql_of(Gadget.objects.filter(serial="serial-7")))
    assert plan.uses_index("testapp_gadget")
    assert "uses the index" in plan.describe()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO testapp_gadget (kind) VALUES (%s)",
        "UPDATE testapp_gadget SET kind = %s",
        "DELETE FROM testapp_gadget WHERE kind = %s",
        "SELECT id FROM testapp_gadget WHERE kind = %s; DELETE FROM testapp_gadget",
    ],
)
def test_explain_never_sends_a_write(sql: str) -> None:
    with CaptureQueriesContext(connection) as sent, pytest.raises(UnsafeStatement):
        explain(connection, sql, ("x",))
    assert sent.captured_queries == []


@pytest.mark.django_db(transaction=True)
def test_analyze_runs_the_query_in_a_transaction_that_is_rolled_back() -> None:
    Gadget.objects.create(
        kind="a", color="c", serial="1", maker="m", size=1, created="2017-01-01T00:00Z"
    )
    if connection.vendor == "postgresql":
        # A SELECT can still write through a function: ANALYZE runs it, then rolls it back.
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE OR REPLACE FUNCTION pagedoctor_test_writes() RETURNS int AS $$ "
                "DELETE FROM testapp_gadget; SELECT 1 $$ LANGUAGE sql"
            )
        sql = "SELECT pagedoctor_test_writes()"
    else:
        sql = "SELECT id FROM testapp_gadget WHERE kind = %s"
    try:
        explain(connection, sql, ("a",) if "%s" in sql else None, analyze=True)
        assert Gadget.objects.count() == 1
        assert not connection.in_atomic_block
    finally:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("DROP FUNCTION pagedoctor_test_writes()")


def test_sqlite_plans_are_read() -> None:
    plan = read_plan(
        "sqlite",
        [
            (2, 0, 0, "SCAN shop_product"),
            (9, 0, 0, "SEARCH shop_category USING INDEX shop_cat_slug (slug=?)"),
            (20, 0, 0, "USE TEMP B-TREE FOR ORDER BY"),
        ],
    )
    assert [(s.kind, s.table) for s in plan.steps] == [
        ("scan", "shop_product"),
        ("index", "shop_category"),
        ("sort", None),
    ]
    assert plan.sorts


def test_postgres_plans_are_read() -> None:
    document = [
        {
            "Plan": {
                "Node Type": "Limit",
                "Plans": [
                    {
                        "Node Type": "Sort",
                        "Sort Key": ["created DESC"],
                        "Plans": [
                            {
                                "Node Type": "Seq Scan",
                                "Relation Name": "shop_product",
                                "Filter": "(type = 'x')",
                                "Plan Rows": 40,
                            }
                        ],
                    }
                ],
            }
        }
    ]
    plan = read_plan("postgresql", [(document,)])
    assert [s.kind for s in plan.steps] == ["sort", "scan"]
    assert plan.scans("shop_product")
    assert plan.describe() == (
        "sorts the rows without an index (created DESC); "
        "reads and filters every row of shop_product"
    )
    bitmap = [
        {
            "Plan": {
                "Node Type": "Bitmap Heap Scan",
                "Relation Name": "shop_product",
                "Plans": [
                    {"Node Type": "Bitmap Index Scan", "Index Name": "shop_product_type_idx"}
                ],
            }
        }
    ]
    assert read_plan("postgresql", [(bitmap,)]).uses_index("shop_product")


def test_mariadb_plans_are_read() -> None:
    document = {
        "query_block": {
            "nested_loop": [
                {
                    "read_sorted_file": {
                        "filesort": {
                            "sort_key": "shop_product.created desc",
                            "table": {
                                "table_name": "shop_product",
                                "access_type": "ALL",
                                "rows": 119720,
                                "attached_condition": "shop_product.type = 'x'",
                            },
                        }
                    }
                },
                {
                    "block-nl-join": {
                        "table": {"table_name": "q", "access_type": "ALL", "rows": 100},
                    }
                },
            ]
        }
    }
    plan = read_plan("mysql", [(json.dumps(document),)])
    assert [(s.kind, s.table) for s in plan.steps] == [
        ("sort", None),
        ("scan", "shop_product"),
        ("join_scan", "q"),
    ]
    assert "about 119,720 rows" in plan.describe()
    assert "joins q without an index" in plan.describe()
