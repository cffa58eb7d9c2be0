"""N+1 detection: each shape found with its exact fix, and quiet where nothing is wrong."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from django.db.models import Count

import pagedoctor
from pagedoctor.demo.shop.models import Pizza
from pagedoctor.demo.shop.seed import seed
from pagedoctor.diagnose.findings import Finding
from tests.testapp.models import Author, Book, Publisher, Tag

pytestmark = pytest.mark.django_db(transaction=True)
HERE = Path(__file__).read_text().splitlines()


def line_of(marker: str) -> int:
    return next(i for i, text in enumerate(HERE, 1) if marker in text and "line_of(" not in text)


@pytest.fixture
def books() -> None:
    publisher = Publisher.objects.create(name="p")
    tags = [Tag.objects.create(name=f"t{i}") for i in range(3)]
    for i in range(5):
        author = Author.objects.create(name=f"a{i}")
        book = Book.objects.create(title=f"b{i}", author=author, publisher=publisher)
        book.tags.set(tags[: i % 3 + 1])


def only(findings: list[Finding]) -> Finding:
    assert len(findings) == 1, [f.message for f in findings]
    return findings[0]


def test_forward_foreign_key(books: None) -> None:
    with pagedoctor.record() as rec:
        books = Book.objects.all()  # built: forward fk
        names = [book.author.name for book in books]  # touched: forward fk
    assert len(names) == 5
    finding = only(pagedoctor.diagnose(rec))
    assert finding.kind == "n_plus_one"
    assert finding.message == "Book.author is loaded once per book (5 queries)"
    assert finding.evidence["model"] == "testapp.Book"
    assert finding.evidence["relation"] == "author"
    assert finding.evidence["count"] == 5
    assert finding.fix is not None
    assert finding.fix.code == 'Book.objects.select_related("author")'
    assert (finding.fix.file, finding.fix.line) == (__file__, line_of("# built: forward fk"))
    assert finding.where is not None
    assert finding.where.line == line_of("# touched: forward fk")


def test_reverse_foreign_key(books: None) -> None:
    with pagedoctor.record() as rec:
        authors = Author.objects.all()  # built: reverse fk
        titles = [list(author.books.all()) for author in authors]
    assert len(titles) == 5
    finding = only(pagedoctor.diagnose(rec))
    assert finding.fix is not None
    assert finding.fix.code == 'Author.objects.prefetch_related("books")'
    assert finding.fix.line == line_of("# built: reverse fk")


def test_many_to_many(books: None) -> None:
    with pagedoctor.record() as rec:
        tags = [[t.name for t in book.tags.all()] for book in Book.objects.order_by("id")]
    assert tags[0] == ["t0"]
    finding = only(pagedoctor.diagnose(rec))
    assert finding.evidence["relation"] == "tags"
    assert finding.fix is not None
    assert finding.fix.code == 'Book.objects.prefetch_related("tags")'


def test_many_to_many_reverse(books: None) -> None:
    with pagedoctor.record() as rec:
        counts = [len(tag.books.all()) for tag in Tag.objects.all()]
    assert sum(counts) == 1 * 2 + 2 * 2 + 3 * 1
    assert only(pagedoctor.diagnose(rec)).fix.code == 'Tag.objects.prefetch_related("books")'  # type: ignore[union-attr]


def test_count_per_row_is_annotated(books: None) -> None:
    with pagedoctor.record() as rec:
        counts = [book.tags.count() for book in Book.objects.all()]
    assert sorted(counts) == [1, 1, 2, 2, 3]
    finding = only(pagedoctor.diagnose(rec))
    assert finding.evidence["operation"] == "count"
    assert finding.fix is not None
    assert finding.fix.code == 'Book.objects.annotate(tags_count=Count("tags"))'


def test_exists_per_row(books: None) -> None:
    with pagedoctor.record() as rec:
        flags = [book.tags.exists() for book in Book.objects.all()]
    assert all(flags)
    finding = only(pagedoctor.diagnose(rec))
    assert finding.evidence["operation"] == "exists"
    assert "Exists(" in (finding.fix.code or "")  # type: ignore[union-attr]


def test_filtered_related_manager_needs_a_prefetch_object(books: None) -> None:
    with pagedoctor.record() as rec:
        firsts = [list(book.tags.filter(name__startswith="t")) for book in Book.objects.all()]
    assert len(firsts) == 5
    finding = only(pagedoctor.diagnose(rec))
    assert "Prefetch(" in (finding.fix.code or "")  # type: ignore[union-attr]


def test_deferred_field(books: None) -> None:
    with pagedoctor.record() as rec:
        titles = [book.title for book in Book.objects.only("id")]
    assert len(titles) == 5
    finding = only(pagedoctor.diagnose(rec))
    assert finding.evidence["relation"] == "title"
    assert "only(" in (finding.fix.code or "")  # type: ignore[union-attr]


def test_hand_written_query_per_row(books: None) -> None:
    with pagedoctor.record() as rec:
        for book in Book.objects.all():
            Author.objects.filter(pk=book.author_id).first()  # hand-written per row
    finding = only(pagedoctor.diagnose(rec))
    assert finding.evidence["count"] == 5
    assert finding.where is not None
    assert finding.where.line == line_of("# hand-written per row")


def test_nested_relation_gets_the_full_path() -> None:
    seed(products=10)
    with pagedoctor.record() as rec:
        pizzas = Pizza.objects.all()  # built: nested
        names = [[t.supplier.name for t in pizza.toppings.all()] for pizza in pizzas]
    assert names
    codes = {f.fix.code for f in pagedoctor.diagnose(rec) if f.fix}
    assert codes == {
        'Pizza.objects.prefetch_related("toppings")',
        'Pizza.objects.prefetch_related("toppings__supplier")',
    }


def test_async_views_awaiting_per_row(books: None) -> None:
    async def view() -> pagedoctor.Recording:
        async with pagedoctor.arecord() as rec:
            async for book in Book.objects.all():
                await Author.objects.aget(pk=book.author_id)  # awaited per row
                [t async for t in book.tags.all()]
        return rec

    findings = pagedoctor.diagnose(asyncio.run(view()))
    messages = sorted(f.message for f in findings)
    assert messages == [
        "Book.tags is loaded once per book (5 queries)",
        "The same query on Author runs once per row in view (5 queries)",
    ]


# -- quiet where nothing is wrong -----------------------------------------------------------


def test_quiet_on_a_detail_page(books: None) -> None:
    with pagedoctor.record() as rec:
        book = Book.objects.get(title="b1")
        book.author.name  # noqa: B018
        list(book.tags.all())
    assert pagedoctor.diagnose(rec) == []


def test_quiet_when_related_rows_are_joined_or_prefetched(books: None) -> None:
    with pagedoctor.record() as rec:
        books = Book.objects.select_related("author").prefetch_related("tags")
        rows = [(b.author.name, [t.name for t in b.tags.all()]) for b in books]
        counted = [b.n for b in Book.objects.annotate(n=Count("tags"))]
    assert len(rows) == 5
    assert sorted(counted) == [1, 1, 2, 2, 3]
    assert pagedoctor.diagnose(rec) == []


def test_quiet_on_foreign_key_ids(books: None) -> None:
    with pagedoctor.record() as rec:
        ids = [book.author_id for book in Book.objects.all()]
    assert len(ids) == 5
    assert pagedoctor.diagnose(rec) == []


def test_quiet_on_two_lookups_on_two_lines(books: None) -> None:
    with pagedoctor.record() as rec:
        Author.objects.get(name="a1")
        Author.objects.get(name="a2")
    assert pagedoctor.diagnose(rec) == []


def test_quiet_on_cascade_deletes_and_transactions(books: None) -> None:
    from django.db import transaction

    with pagedoctor.record() as rec, transaction.atomic():
        Author.objects.filter(name__in=["a1", "a2"]).delete()
    assert [f for f in pagedoctor.diagnose(rec) if f.kind == "n_plus_one"] == []


def test_quiet_on_awaited_lookups_on_different_lines(books: None) -> None:
    async def view() -> pagedoctor.Recording:
        async with pagedoctor.arecord() as rec:
            await Author.objects.aget(name="a1")
            await Author.objects.aget(name="a2")
        return rec

    assert pagedoctor.diagnose(asyncio.run(view())) == []


def test_generic_foreign_key_and_generic_relation() -> None:
    from tests.genericapp.models import Comment, Post

    posts = [Post.objects.create(title=f"p{i}") for i in range(3)]
    for post in posts:
        Comment.objects.create(text="c", target=post)
    with pagedoctor.record() as rec:
        targets = [comment.target.title for comment in Comment.objects.all()]
        counts = [len(post.comments.all()) for post in Post.objects.all()]
    assert targets == ["p0", "p1", "p2"]
    assert counts == [1, 1, 1]
    codes = sorted(f.fix.code for f in pagedoctor.diagnose(rec) if f.fix)  # type: ignore[misc]
    assert codes == [
        'Comment.objects.prefetch_related("target")',
        'Post.objects.prefetch_related("comments")',
    ]


def test_iterator_loops(books: None) -> None:
    with pagedoctor.record() as rec:
        names = [book.author.name for book in Book.objects.iterator()]
    assert len(names) == 5
    assert only(pagedoctor.diagnose(rec)).fix.code == 'Book.objects.select_related("author")'  # type: ignore[union-attr]


def test_slices(books: None) -> None:
    with pagedoctor.record() as rec:
        names = [book.author.name for book in Book.objects.order_by("id")[:3]]
    assert len(names) == 3
    assert only(pagedoctor.diagnose(rec)).evidence["count"] == 3


def test_two_relations_interleaved_in_one_loop(books: None) -> None:
    with pagedoctor.record() as rec:
        rows = [(b.author.name, b.publisher.name) for b in Book.objects.all()]  # type: ignore[union-attr]
    assert len(rows) == 5
    codes = sorted(f.fix.code for f in pagedoctor.diagnose(rec) if f.fix)  # type: ignore[misc]
    assert codes == [
        'Book.objects.select_related("author")',
        'Book.objects.select_related("publisher")',
    ]


def test_prefetch_that_stops_one_level_short() -> None:
    seed(products=10)
    with pagedoctor.record() as rec:
        pizzas = Pizza.objects.prefetch_related("toppings")
        names = [[t.supplier.name for t in pizza.toppings.all()] for pizza in pizzas]
    assert names
    (finding,) = pagedoctor.diagnose(rec)
    assert finding.evidence["relation"] == "toppings__supplier"
    assert finding.evidence["model"] == "shop.Pizza"
    assert finding.fix is not None
    assert finding.fix.code == 'Pizza.objects.prefetch_related("toppings__supplier")'


def test_the_threshold_is_a_setting(books: None, settings: object) -> None:
    with pagedoctor.record() as rec:
        [book.author.name for book in Book.objects.all()]
    assert len(pagedoctor.diagnose(rec)) == 1
    settings.PAGEDOCTOR = {"N_PLUS_ONE_THRESHOLD": 6}  # type: ignore[attr-defined]
    assert pagedoctor.diagnose(rec) == []
    assert len(pagedoctor.diagnose(rec, threshold=5)) == 1


def test_says_where_django_61_fetch_peers_would_help(books: None) -> None:
    import django

    with pagedoctor.record() as rec:
        [(book.author.name, list(book.tags.all())) for book in Book.objects.all()]
    evidence = {f.evidence["relation"]: f.evidence for f in pagedoctor.diagnose(rec)}
    if django.VERSION < (6, 1):
        assert "fetch_peers" not in evidence["author"]
    else:
        assert evidence["author"]["fetch_peers"].startswith(
            "QuerySet.fetch_mode(models.FETCH_PEERS)"
        )
        assert evidence["tags"]["fetch_peers"].startswith("FETCH_PEERS cannot fix this")
        # And it is true: with the fetch mode, the authors come in one query.
        from django.db import models

        with pagedoctor.record() as peers:
            [b.author.name for b in Book.objects.fetch_mode(models.FETCH_PEERS)]  # type: ignore[attr-defined]
        assert len(peers.queries) == 2
        assert pagedoctor.diagnose(peers) == []
