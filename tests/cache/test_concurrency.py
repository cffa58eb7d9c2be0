"""Never stale under load: thousands of concurrent reads and writes on PostgreSQL and Redis.

Processes (each with reader, snapshot-reader and writer threads) share the test database and
one Redis, which is flushed (FLUSHDB) twice while they run. Every value a cached function
serves is checked against what a plain query read just before: see
:mod:`tests.cache.harness_load`.

Only on PostgreSQL: SQLite's in-memory test database cannot be shared between processes (and
between threads it takes table locks rather than running concurrently).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.core.cache import caches
from django.db import connection
from django.test import override_settings

from tests.cache import harness
from tests.cache.harness_load import Plan, Writes, run
from tests.services import require_service
from tests.testapp.models import Author, Book, Gadget, Tag

PROCESSES = 3
ROLES = ("reader", "reader", "reader", "reader", "snapshot", "writer", "writer")
OPERATIONS = 10_000
WRITE_SHARE = 0.15
# When the cache is flushed, in parts of the operations done: late, as after it pagedoctor may
# store nothing for a while (versions.LOST_SECONDS), and the run must show hits.
FLUSH_AT = (0.6, 0.8)

pytestmark = [
    pytest.mark.skipif(
        os.environ.get("PAGEDOCTOR_TEST_DB") != "postgres",
        reason="runs on PostgreSQL only (PAGEDOCTOR_TEST_DB=postgres): processes must share "
        "the test database",
    ),
    pytest.mark.django_db(transaction=True),
]


def test_no_stale_value_under_concurrent_readers_and_writers(tmp_path: Path) -> None:
    require_service("redis")
    with override_settings(CACHES={"default": harness.cache_config("redis-load")}):
        caches["default"].clear()
        gadgets = harness.make_gadgets(12)
        books = harness.make_books(4)
        plan = Plan(
            database=connection.settings_dict["NAME"],
            cache=harness.cache_config("redis-load"),
            gadgets=tuple(gadgets),
            serials=tuple(Gadget.objects.get(pk=pk).serial for pk in gadgets),
            books=tuple(books),
            authors=tuple(Book.objects.get(pk=pk).author_id for pk in books),
            roles=ROLES,
            operations=OPERATIONS,
            write_share=WRITE_SHARE,
            results=str(tmp_path),
        )
        result = run(
            plan,
            processes=PROCESSES,
            flush_at=FLUSH_AT,
            flush=caches["default"].clear,
        )
        caches["default"].clear()
    counts, stats = result["counts"], result["stats"]
    ops = counts["reads"] + counts["writes"]
    served = stats["hits"] + stats["misses"] + stats["bypassed"]
    print(
        f"\n{ops} operations ({counts['reads']} reads, {counts['writes']} writes) by "
        f"{PROCESSES} processes x {len(ROLES)} threads in {result['seconds']:.1f} s: "
        f"{ops / result['seconds']:.0f} ops/s; hit ratio {stats['hits'] / served:.1%} "
        f"({stats['hits']} hits, {stats['misses']} misses); stale {counts['stale']}, "
        f"dirty {counts['dirty']}; Redis flushed {result['flushes']} times"
        f"\ncounts {dict(sorted(counts.items()))}\nstats {dict(stats)}"
        f"\nnot stored because {dict(result['unstored'])}"
    )
    for example in result["examples"]:
        print("stale or dirty:", example)

    assert result["errors"] == []
    assert result["exit_codes"] == [0] * PROCESSES
    assert ops == OPERATIONS >= 10_000
    assert counts["writes"] >= 0.05 * ops
    assert (counts["stale"], counts["dirty"]) == (0, 0), result["examples"]
    # It cached (a harness that never hits proves nothing) and it recomputed after writes.
    assert stats["hits"] >= 0.05 * counts["reads"]
    assert stats["misses"] >= 100
    assert result["flushes"] == len(FLUSH_AT)
    assert counts["snapshot reads"] > 0
    assert all(counts[f"writes {kind}"] > 0 for kind in Writes.KINDS)
    assert counts["rolled back"] > 0

    # What the writers say they committed is what the database holds, and nothing more.
    committed = result["committed"]
    assert {f"gadget {g.pk}": g.size for g in Gadget.objects.filter(pk__in=gadgets)} == {
        f"gadget {pk}": committed[f"gadget {pk}"] for pk in gadgets
    }
    assert {f"author {a.pk}": harness.author_counter(a.name) for a in Author.objects.all()} == {
        f"author {pk}": committed[f"author {pk}"] for pk in plan.authors
    }
    assert {f"book {pk}": Tag.objects.filter(books__pk=pk).count() for pk in books} == {
        f"book {pk}": 1 + committed[f"book {pk}"] for pk in books
    }
    assert not Tag.objects.filter(name__startswith=harness.BAIT).exists()
