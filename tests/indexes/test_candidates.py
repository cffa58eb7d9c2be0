from __future__ import annotations

import pytest
from django.db import connection

from pagedoctor.indexes.candidates import (
    Candidate,
    candidates,
    covered_by,
    existing_indexes,
    query_columns,
)
from pagedoctor.indexes.statements import parse_select
from tests.testapp.models import Gadget


def parsed(sql: str, vendor: str = "postgresql") -> object:
    query = parse_select(sql, vendor)
    assert query is not None
    return query


def proposed(queryset: object) -> list[tuple[str, tuple[str, ...], str]]:
    sql, _ = queryset.query.sql_with_params()  # type: ignore[attr-defined]
    query = parse_select(sql, connection.vendor)
    assert query is not None
    return [(c.label, c.fields, c.reason) for c in candidates(query)]


def test_equality_range_order_and_join_columns_are_read_from_the_sql() -> None:
    columns = query_columns(
        parsed(  # type: ignore[arg-type]
            'SELECT "p"."id" FROM "shop_product" "p" INNER JOIN "shop_category" "c" '
            'ON ("p"."category_id" = "c"."id") WHERE ("p"."type" = %s AND "p"."price" > %s '
            'AND "p"."slug" IN (%s, %s) AND "c"."name" LIKE %s) ORDER BY "p"."created" DESC'
        )
    )
    product, category = columns["shop_product"], columns["shop_category"]
    assert product.equality == ["type", "slug"]
    assert product.range == ["price"]
    assert product.order == ["created"]
    assert product.join == ["category_id"]
    assert category.join == ["id"]
    assert category.like == [("name", 4)]  # the fifth parameter holds the pattern


def test_django_s_case_insensitive_like_is_read_through_the_functions() -> None:
    columns = query_columns(
        parsed(  # type: ignore[arg-type]
            'SELECT "t"."id" FROM "shop_product" "t" WHERE UPPER("t"."name"::text) LIKE UPPER(%s)'
        )
    )
    assert columns["shop_product"].like == [("name", 0)]


def test_candidates_put_equality_columns_first_then_one_range_column() -> None:
    assert proposed(Gadget.objects.filter(size__gte=3, kind="a", maker="m")) == [
        ("testapp.Gadget", ("kind", "maker", "size"), "filter")
    ]
    assert proposed(Gadget.objects.filter(size__gte=3).filter(created__lt="2020-01-01T00:00Z")) == [
        ("testapp.Gadget", ("size",), "filter")
    ]
    assert proposed(Gadget.objects.order_by("-created")) == [
        ("testapp.Gadget", ("created",), "sort")
    ]
    assert proposed(Gadget.objects.filter(pk=3)) == []


def test_a_filtered_and_sorted_query_gets_the_narrow_index_and_a_note_on_the_sort() -> None:
    sql, _ = Gadget.objects.filter(kind="a").order_by("-created").query.sql_with_params()
    query = parse_select(sql, connection.vendor)
    assert query is not None
    (candidate,) = candidates(query)
    assert candidate.fields == ("kind",)
    assert candidate.then_sorted_by == ("created",)


def gadget_candidate(*fields: str, equality: int | None = None) -> Candidate:
    return Candidate(
        model=Gadget,
        table="testapp_gadget",
        columns=fields,
        fields=fields,
        reason="filter",
        equality=len(fields) if equality is None else equality,
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "equality", "covering"),
    [
        (("color",), 1, ("color",)),  # db_index=True
        (("serial",), 1, ("serial",)),  # unique=True
        (("maker",), 1, ("maker", "size")),  # the prefix of a composite index
        (("maker", "size"), 1, ("maker", "size")),  # the composite itself
        (("size", "maker"), 2, ("maker", "size")),  # equality columns in any order
        (("id",), 1, ("id",)),  # the primary key
    ],
)
def test_existing_indexes_cover_candidates(
    fields: tuple[str, ...], equality: int, covering: tuple[str, ...]
) -> None:
    existing = existing_indexes(connection, "testapp_gadget")
    assert covered_by(gadget_candidate(*fields, equality=equality), existing) == covering


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "equality"),
    [(("kind",), 1), (("size",), 1), (("size", "maker"), 1), (("color", "kind"), 2)],
)
def test_what_no_index_covers_is_left_to_propose(fields: tuple[str, ...], equality: int) -> None:
    existing = existing_indexes(connection, "testapp_gadget")
    assert covered_by(gadget_candidate(*fields, equality=equality), existing) is None
