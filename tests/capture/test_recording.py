from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from django.db import connection

import pagedoctor
from pagedoctor.capture.recording import active, suspended
from tests.testapp.models import Author, Book

pytestmark = pytest.mark.django_db(transaction=True)


def test_nested_recordings_both_receive_inner_events() -> None:
    connection.ensure_connection()  # MariaDB runs set-up queries on a new connection
    with pagedoctor.record(label="outer") as outer:
        Author.objects.count()
        with pagedoctor.record(label="inner") as inner:
            Book.objects.count()
        Author.objects.exists()
    assert len(inner.queries) == 1
    assert "testapp_book" in inner.queries[0].sql
    assert len(outer.queries) == 3
    assert outer.queries[1] is inner.queries[0]
    assert active() == ()


def test_a_recording_cannot_be_entered_twice() -> None:
    rec = pagedoctor.record()
    with rec, pytest.raises(RuntimeError, match="already active"), rec:
        pass


def test_memory_is_bounded_and_drops_are_counted() -> None:
    connection.ensure_connection()
    with pagedoctor.record(max_events=3) as rec:
        for _ in range(5):
            Author.objects.count()
    assert len(rec.queries) == 3
    assert rec.dropped == 2


def test_suspended_records_nothing() -> None:
    with pagedoctor.record() as rec:
        with suspended():
            Author.objects.count()
        Book.objects.count()
    assert len(rec.queries) == 1


def test_threads_record_independently() -> None:
    Author.objects.create(name="a")
    results: dict[str, int] = {}
    barrier = threading.Barrier(2)

    def worker(name: str, n: int) -> None:
        with pagedoctor.record() as rec:
            barrier.wait()
            for _ in range(n):
                Author.objects.filter(name=name).exists()
        results[name] = len(rec.queries)

    threads = [threading.Thread(target=worker, args=(f"t{n}", n)) for n in (2, 5)]
    with pagedoctor.record() as main:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert results == {"t2": 2, "t5": 5}
    assert main.queries == []  # other threads' queries are theirs, not ours


def test_a_thread_started_in_a_copied_context_is_recorded() -> None:
    import contextvars

    with pagedoctor.record() as rec:
        context = contextvars.copy_context()
        thread = threading.Thread(target=context.run, args=(Author.objects.count,))
        thread.start()
        thread.join()
    assert len(rec.queries) == 1


def test_async_block_records_awaited_queries_at_the_awaiting_line() -> None:
    async def view() -> list[str]:
        async with pagedoctor.arecord() as rec:
            author = await Author.objects.acreate(name="x")
            await Book.objects.acreate(title="b", author=author)
            titles = [b.title async for b in Book.objects.all()]  # the async-for line
            count = await Author.objects.acount()  # the acount line
        assert count == 1
        view.rec = rec  # type: ignore[attr-defined]
        return titles

    assert asyncio.run(view()) == ["b"]
    rec = view.rec  # type: ignore[attr-defined]
    # The worker thread opens its own connection; MariaDB's set-up queries are not ours.
    selects = [q for q in rec.queries if q.is_select and "testapp_" in q.sql]
    assert len(selects) == 2
    lines = Path(__file__).read_text().splitlines()
    for query, marker in zip(selects, ("the async-for line", "the acount line"), strict=True):
        assert query.callsite is not None
        assert query.callsite.file == __file__
        assert marker in lines[query.callsite.line - 1]


def test_concurrent_tasks_attribute_each_query_to_its_own_task() -> None:
    Author.objects.create(name="a")

    async def one() -> int:
        return await Author.objects.filter(name="a").acount()  # task one

    async def two() -> bool:
        return await Author.objects.filter(name="b").aexists()  # task two

    async def main() -> pagedoctor.Recording:
        async with pagedoctor.arecord() as rec:
            await asyncio.gather(one(), two())
        return rec

    rec = asyncio.run(main())
    lines = Path(__file__).read_text().splitlines()
    found = {lines[q.callsite.line - 1].split("# ")[-1] for q in rec.queries if q.callsite}
    assert found == {"task one", "task two"}


def test_sync_to_async_user_function_keeps_its_own_frame() -> None:
    def count_authors() -> int:
        return Author.objects.count()

    async def main() -> pagedoctor.Recording:
        async with pagedoctor.arecord() as rec:
            await sync_to_async(count_authors)()
        return rec

    rec = asyncio.run(main())
    assert rec.queries[0].callsite is not None
    assert rec.queries[0].callsite.function == "count_authors"
