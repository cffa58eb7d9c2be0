from __future__ import annotations

import pytest
from django.db import connection, transaction

import pagedoctor.cache as pdcache
from tests.testapp.models import Author, Book, Tag

pytestmark = pytest.mark.django_db(transaction=True)

calls: list[str] = []


@pdcache.cached
def author_names() -> list[str]:
    calls.append("names")
    return list(Author.objects.order_by("name").values_list("name", flat=True))


@pdcache.cached
def author_name(pk: int) -> str:
    calls.append(f"name {pk}")
    return Author.objects.get(pk=pk).name


@pytest.fixture(autouse=True)
def _calls() -> None:
    calls.clear()


def test_a_hit_runs_nothing(cache_backend: str) -> None:
    Author.objects.create(name="Ann")
    assert author_names() == ["Ann"]
    assert author_names() == ["Ann"]
    assert calls == ["names"]


def test_save_invalidates(cache_backend: str) -> None:
    ann = Author.objects.create(name="Ann")
    assert author_names() == ["Ann"]
    ann.name = "Anna"
    ann.save()
    assert author_names() == ["Anna"]


def test_queryset_update_invalidates(cache_backend: str) -> None:
    Author.objects.create(name="Ann")
    assert author_names() == ["Ann"]
    Author.objects.update(name="Bea")
    assert author_names() == ["Bea"]


def test_row_dependency_ignores_other_rows(cache_backend: str) -> None:
    ann = Author.objects.create(name="Ann")
    bob = Author.objects.create(name="Bob")
    assert author_name(ann.pk) == "Ann"
    bob.name = "Bobby"
    bob.save()
    assert author_name(ann.pk) == "Ann"
    assert calls == [f"name {ann.pk}"]
    ann.name = "Anna"
    ann.save()
    assert author_name(ann.pk) == "Anna"


def test_raw_sql_invalidates(cache_backend: str) -> None:
    Author.objects.create(name="Ann")
    assert author_names() == ["Ann"]
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {Author._meta.db_table} SET name = %s", ["Raw"])
    assert author_names() == ["Raw"]


def test_atomic_invalidates_on_commit_only(cache_backend: str) -> None:
    Author.objects.create(name="Ann")
    assert author_names() == ["Ann"]
    with transaction.atomic():
        Author.objects.update(name="Bea")
        # read-your-writes: this transaction sees its own write, not the cached value
        assert author_names() == ["Bea"]
    assert author_names() == ["Bea"]


def test_rolled_back_savepoint_keeps_value(cache_backend: str) -> None:
    Author.objects.create(name="Ann")
    assert author_names() == ["Ann"]
    with transaction.atomic():
        try:
            with transaction.atomic():
                Author.objects.update(name="Bea")
                raise RuntimeError
        except RuntimeError:
            pass
    assert author_names() == ["Ann"]
    assert calls.count("names") == 1


def test_m2m_add_invalidates(cache_backend: str) -> None:
    author = Author.objects.create(name="Ann")
    book = Book.objects.create(title="B", author=author)
    tag = Tag.objects.create(name="t")

    @pdcache.cached
    def tag_names(book_id: int) -> list[str]:
        return [t.name for t in Book.objects.get(pk=book_id).tags.all()]

    assert tag_names(book.pk) == []
    book.tags.add(tag)
    assert tag_names(book.pk) == ["t"]
    book.tags.clear()
    assert tag_names(book.pk) == []


def test_a_statement_with_a_known_and_a_new_dependency(cache_backend: str) -> None:
    ann = Author.objects.create(name="Ann")
    Book.objects.create(title="B", author=ann)

    @pdcache.cached
    def titles_by(pk: int) -> list[str]:
        Author.objects.filter(name="Ann").exists()  # the author table becomes a dependency
        # ... and this join reads it again, with the book table, which is new
        return list(Book.objects.filter(author__name="Ann").values_list("title", flat=True))

    assert titles_by(ann.pk) == ["B"]
    Book.objects.update(title="C")
    assert titles_by(ann.pk) == ["C"]
