"""Every way Django writes invalidates what a cached value read, on every backend."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

import pagedoctor.cache as pdcache
from tests.testapp.models import Author, Book, Publisher, Tag

pytestmark = pytest.mark.django_db(transaction=True)


@pdcache.cached
def titles() -> list[str]:
    return sorted(Book.objects.values_list("title", flat=True))


@pdcache.cached
def book_count_by_author(author: Author) -> int:
    return Book.objects.filter(author=author).count()


@pdcache.cached
def publisher_name(pk: int) -> str | None:
    book = Book.objects.select_related("publisher").get(pk=pk)
    return book.publisher.name if book.publisher else None


@pytest.fixture
def ann() -> Author:
    return Author.objects.create(name="Ann")


def test_bulk_create_invalidates(cache_backend: str, ann: Author) -> None:
    assert titles() == []
    Book.objects.bulk_create([Book(title="A", author=ann), Book(title="B", author=ann)])
    assert titles() == ["A", "B"]


def test_bulk_update_invalidates(cache_backend: str, ann: Author) -> None:
    books = [Book.objects.create(title=t, author=ann) for t in "AB"]
    assert titles() == ["A", "B"]
    for book in books:
        book.title = book.title.lower()
    Book.objects.bulk_update(books, ["title"])
    assert titles() == ["a", "b"]


def test_queryset_delete_invalidates(cache_backend: str, ann: Author) -> None:
    Book.objects.create(title="A", author=ann)
    assert titles() == ["A"]
    Book.objects.all().delete()
    assert titles() == []


def test_cascade_delete_invalidates_the_children(cache_backend: str, ann: Author) -> None:
    Book.objects.create(title="A", author=ann)
    assert titles() == ["A"]
    ann.delete()  # Django's collector deletes the books with SQL of its own
    assert titles() == []


def test_set_null_on_delete_invalidates_a_join(cache_backend: str, ann: Author) -> None:
    press = Publisher.objects.create(name="Press")
    book = Book.objects.create(title="A", author=ann, publisher=press)
    assert publisher_name(book.pk) == "Press"
    press.delete()
    assert publisher_name(book.pk) is None


def test_a_model_argument_stands_for_its_row(cache_backend: str, ann: Author) -> None:
    Book.objects.create(title="A", author=ann)
    assert book_count_by_author(ann) == 1
    Book.objects.create(title="B", author=ann)
    assert book_count_by_author(ann) == 2


def test_m2m_set_and_remove_invalidate(cache_backend: str, ann: Author) -> None:
    book = Book.objects.create(title="A", author=ann)
    red, blue = Tag.objects.create(name="red"), Tag.objects.create(name="blue")

    @pdcache.cached
    def tag_names(pk: int) -> list[str]:
        return sorted(Tag.objects.filter(books__pk=pk).values_list("name", flat=True))

    book.tags.set([red, blue])
    assert tag_names(book.pk) == ["blue", "red"]
    book.tags.remove(red)
    assert tag_names(book.pk) == ["blue"]
    red.books.add(book)  # from the other side
    assert tag_names(book.pk) == ["blue", "red"]


def test_manual_transaction_invalidates_on_commit(cache_backend: str, ann: Author) -> None:
    Book.objects.create(title="A", author=ann)
    assert titles() == ["A"]
    transaction.set_autocommit(False)
    try:
        Book.objects.update(title="B")
        transaction.commit()
    finally:
        transaction.set_autocommit(True)
    assert titles() == ["B"]


def test_manual_transaction_rolled_back_keeps_the_value(cache_backend: str, ann: Author) -> None:
    Book.objects.create(title="A", author=ann)
    assert titles() == ["A"]
    transaction.set_autocommit(False)
    try:
        Book.objects.update(title="B")
        transaction.rollback()
    finally:
        transaction.set_autocommit(True)
    assert titles() == ["A"]


def test_raw_insert_on_an_open_cursor(cache_backend: str, ann: Author) -> None:
    assert titles() == []
    cursor = connection.cursor()
    cursor.execute(
        f"INSERT INTO {Book._meta.db_table} (title, author_id) VALUES (%s, %s)", ["Raw", ann.pk]
    )
    # The cursor is still open: the next read must see the write all the same.
    assert titles() == ["Raw"]
    cursor.close()
