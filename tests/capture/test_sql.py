from __future__ import annotations

import re

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

import pagedoctor
from tests.testapp.models import Author, Book, Tag

pytestmark = pytest.mark.django_db(transaction=False)


def make_books(n: int) -> None:
    for i in range(n):
        author = Author.objects.create(name=f"author {i}")
        Book.objects.create(title=f"book {i}", author=author)


def test_records_each_query_with_its_call_site() -> None:
    make_books(3)
    with pagedoctor.record() as rec:
        titles = [b.author.name for b in Book.objects.order_by("id")]  # line of the N+1
    assert titles == ["author 0", "author 1", "author 2"]
    assert len(rec.queries) == 4
    first = rec.queries[0]
    assert first.alias == "default"
    assert first.vendor == connection.vendor
    assert "testapp_book" in first.sql
    assert first.callsite is not None
    assert first.callsite.file == __file__
    assert first.callsite.function == "test_records_each_query_with_its_call_site"
    assert first.duration_ms >= 0
    # The three author loads share one shape, folded from their different parameters.
    shapes = {q.fingerprint for q in rec.queries[1:]}
    assert len(shapes) == 1
    assert {q.params for q in rec.queries[1:]} == {(a.pk,) for a in Author.objects.all()}


def test_counts_equal_djangos_own() -> None:
    make_books(4)
    tag = Tag.objects.create(name="t")
    for book in Book.objects.all():
        book.tags.add(tag)
    with CaptureQueriesContext(connection) as django_counted, pagedoctor.record() as rec:
        list(Book.objects.prefetch_related("tags"))
        Book.objects.filter(title__startswith="book").update(title="x")
        Author.objects.filter(pk__in=[1, 2, 3]).exists()
    # Django logs SQL with the parameters filled in; the statements still line up one to one.
    ours = [q.sql.split()[0] for q in rec.queries]
    theirs = [q["sql"].split()[0] for q in django_counted.captured_queries]
    assert ours == theirs == ["SELECT", "SELECT", "UPDATE", "SELECT"]


def test_recording_changes_no_results_order_or_exceptions() -> None:
    make_books(5)

    def work() -> tuple[list[str], list[str], str]:
        with CaptureQueriesContext(connection) as ctx:
            titles = list(Book.objects.order_by("-title").values_list("title", flat=True))
            try:
                with transaction.atomic():
                    Author.objects.create(name="author 0")  # unique: fails
            except IntegrityError as exc:
                error = type(exc).__name__
        # Savepoint names count up from call to call; the statements are what must match.
        sqls = [re.sub(r"s\d+_x\d+", "sp", q["sql"]) for q in ctx.captured_queries]
        return titles, sqls, error

    plain = work()
    with pagedoctor.record() as rec:
        recorded = work()
    assert recorded == plain
    failed = [q for q in rec.queries if q.error]
    assert len(failed) == 1
    assert failed[0].error.startswith("IntegrityError")


def test_nothing_recorded_outside_a_block() -> None:
    with pagedoctor.record() as rec:
        pass
    Author.objects.count()
    assert rec.queries == []


def test_executemany_keeps_the_callers_iterator_unconsumed() -> None:
    rows = iter([("a",), ("b",)])
    with pagedoctor.record() as rec, connection.cursor() as cursor:
        cursor.executemany(f"INSERT INTO {Tag._meta.db_table} (name) VALUES (%s)", rows)
    assert sorted(Tag.objects.values_list("name", flat=True)) == ["a", "b"]
    assert rec.queries[-1].many is True


def test_params_are_copied_not_shared() -> None:
    params = ["x"]
    with pagedoctor.record() as rec, connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {Tag._meta.db_table} WHERE name = %s", params)
    params.append("mutated later")
    assert rec.queries[0].params == ("x",)
