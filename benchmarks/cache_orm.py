"""One ORM read workload with no cache, pagedoctor's ``@cached``, django-cachalot, django-cacheops.

Each contender runs in a process of its own (cachalot and cacheops patch the ORM for the whole
process), on one PostgreSQL database made for the run (``pagedoctor_bench_cache`` on
127.0.0.1:5432, dropped at the end) and Redis db 5 on 127.0.0.1:6379 (emptied before each
process and at the end), configured as each project documents it:

- ``none``: plain Django;
- ``pagedoctor``: ``pagedoctor`` installed, the two reads wrapped in ``@pagedoctor.cache.cached``
  functions, the ``default`` cache on Redis;
- ``cachalot``: ``cachalot`` installed, the ``default`` cache on Redis (Django's backend);
- ``cacheops``: ``cacheops`` installed, ``CACHEOPS_REDIS`` on Redis and
  ``CACHEOPS = {"cache_app.item": {"ops": "all", "timeout": 900}}``.

Throughput: a fixed sequence (the same seed for all) of reads, half a list of the 20 rows of one
of 10 groups and half a row by primary key out of 200, with a write every 50 reads (a row's
counter incremented with ``select_for_update()`` and ``save()`` in ``atomic()``). Each value is
read once to warm the cache, then the sequence runs timed and, in the first round, once more to
count the SQL statements that reached PostgreSQL and the requests redis-py sent, per read and
per write. Rounds are interleaved, in a new order each round, until ``--rounds`` or the time
``--budget`` (2 rounds at least); it prints the median reads per second (the writes' time
included) with the min-max over rounds, the ratio to ``none`` within each round, and this
process's CPU time per read.

Stale serves: one writer thread increments the counters of 5 rows of group 0 (a write every
10 ms at most) while two reader threads each read the committed counters straight from
PostgreSQL (a connection of their own) and then read a row, or group 0's list, through the
contender. A counter only grows, so a value served below the one committed just before is
stale; it is counted "after invalidation" when the write that committed the newer value had
returned (committed, and invalidated) before the read began, which no cache should ever serve.
After the writer stops, the rows and the list are read once more through the contender: a value
still stale is pinned until the next write. This test runs in the first ``--stale-rounds``
rounds' processes, after the throughput pass, on an emptied cache.

``benchmarks/run-cache-peers`` makes a virtualenv with the peers and runs this; with the
project's virtualenv the peers are reported as not installed.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import cache_common

MODES = ("none", "pagedoctor", "cachalot", "cacheops")
DATABASE = "pagedoctor_bench_cache"
READS_PER_WRITE = 50
HOT = 5  # rows the stale-serve test writes
WRITE_PAUSE_S = 0.01


Reads = tuple[Callable[[int], list[Any]], Callable[[int], Any], list[int]]


def setup(mode: str) -> Reads:
    """Configure Django for ``mode``; return its list read, its row read and the rows' keys."""
    cache_common.configure(mode=mode, database=DATABASE, cache="redis")
    cache_common.flush_redis()
    from cache_app.models import Item

    def group_items(group: int) -> list[Any]:
        return list(Item.objects.filter(group=group).order_by("id"))

    def item(pk: int) -> Any:
        return Item.objects.get(pk=pk)

    if mode == "pagedoctor":
        import pagedoctor.cache

        group_items = pagedoctor.cache.cached(group_items)
        item = pagedoctor.cache.cached(item)
    pks = list(Item.objects.order_by("id").values_list("id", flat=True))
    return group_items, item, pks


def write(pk: int) -> int:
    """Increment the counter of row ``pk`` as an application would; return its new value."""
    from cache_app.models import Item
    from django.db import transaction

    with transaction.atomic():
        row = Item.objects.select_for_update().get(pk=pk)
        row.counter += 1
        row.save(update_fields=["counter"])
    return int(row.counter)


def throughput(reading: Reads, ops: int, *, count: bool) -> dict[str, float]:
    """Warm the cache, run the read/write sequence timed, then counted if ``count``."""
    group_items, item, pks = reading
    rng = random.Random(5)
    sequence: list[tuple[str, int]] = []
    for n in range(ops):
        if n % (READS_PER_WRITE + 1) == READS_PER_WRITE:
            sequence.append(("write", rng.choice(pks)))
        elif rng.random() < 0.5:
            sequence.append(("list", rng.randrange(cache_common.GROUPS)))
        else:
            sequence.append(("get", rng.choice(pks)))
    calls: dict[str, Callable[[int], object]] = {"list": group_items, "get": item, "write": write}
    reads = sum(1 for kind, _ in sequence if kind != "write")

    def run() -> None:
        for kind, arg in sequence:
            calls[kind](arg)

    # Warm: every value the sequence reads, once.
    for group in range(cache_common.GROUPS):
        group_items(group)
    for pk in pks:
        item(pk)
    started, started_cpu = time.perf_counter(), time.thread_time()
    run()
    result = {
        "reads_per_s": reads / (time.perf_counter() - started),
        "cpu_us_per_read": (time.thread_time() - started_cpu) / reads * 1e6,
    }
    if count:
        result |= counts(sequence, calls)
    return result


def counts(
    sequence: list[tuple[str, int]], calls: dict[str, Callable[[int], object]]
) -> dict[str, float]:
    """Run ``sequence`` once more; return SQL statements and Redis requests per read and write."""
    trips = cache_common.RoundTrips()
    trips.install()
    sql = [0]
    counted = {"read_sql": 0, "read_rt": 0, "write_sql": 0, "write_rt": 0}
    with cache_common.counting_sql(sql), trips.counting():
        for kind, arg in sequence:
            before_sql, before_rt = sql[0], trips.count
            calls[kind](arg)
            side = "write" if kind == "write" else "read"
            counted[f"{side}_sql"] += sql[0] - before_sql
            counted[f"{side}_rt"] += trips.count - before_rt
    writes = sum(1 for kind, _ in sequence if kind == "write")
    reads = len(sequence) - writes
    return {
        "sql_per_read": counted["read_sql"] / reads,
        "rt_per_read": counted["read_rt"] / reads,
        "sql_per_write": counted["write_sql"] / writes,
        "rt_per_write": counted["write_rt"] / writes,
    }


def stale(reading: Reads, seconds: float) -> dict[str, float]:
    """Read while a writer writes; count values served below what was committed before."""
    import psycopg
    from cache_app.models import Item
    from django.db import connection

    cache_common.flush_redis()  # start from an empty cache, as the throughput pass did
    group_items, item, _ = reading

    # A few hot rows, all in group 0, so that each value is read many times between writes.
    hot = list(Item.objects.filter(group=0).order_by("id").values_list("id", flat=True)[:HOT])
    returned: dict[tuple[int, int], float] = {}  # (row, value): when its write had returned
    stop = threading.Event()
    found = {"reads": 0, "stale": 0, "after_invalidation": 0, "writes": 0, "late_ms": 0.0}
    lock = threading.Lock()

    def writer() -> None:
        rng = random.Random(1)
        try:
            while not stop.is_set():
                pk = rng.choice(hot)
                value = write(pk)
                returned[(pk, value)] = time.monotonic()
                found["writes"] += 1
                time.sleep(WRITE_PAUSE_S)
        finally:
            connection.close()

    def reader(seed: int) -> None:
        rng = random.Random(seed)
        direct = psycopg.connect(dbname=DATABASE, autocommit=True, **_pg())
        try:
            while not stop.is_set():
                if rng.random() < 0.5:
                    pk = rng.choice(hot)
                    committed = _committed(direct, "id = %s", pk)
                    began = time.monotonic()
                    served = {pk: item(pk).counter}
                else:
                    committed = _committed(direct, '"group" = %s', 0)
                    began = time.monotonic()
                    served = {row.pk: row.counter for row in group_items(0)}
                behind = [k for k, value in committed.items() if served[k] < value]
                late = [
                    began - returned[(k, committed[k])]
                    for k in behind
                    if returned.get((k, committed[k]), began) < began
                ]
                with lock:
                    found["reads"] += 1
                    found["stale"] += bool(behind)
                    found["after_invalidation"] += bool(late)
                    found["late_ms"] = max([found["late_ms"], *(s * 1000 for s in late)])
        finally:
            direct.close()
            connection.close()

    threads = [threading.Thread(target=writer)]
    threads += [threading.Thread(target=reader, args=(seed,)) for seed in (2, 3)]
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    time.sleep(0.2)
    with psycopg.connect(dbname=DATABASE, autocommit=True, **_pg()) as direct:
        truth = _committed(direct, '"group" = %s', 0)
    pinned = sum(1 for pk in hot if item(pk).counter != truth[pk])
    pinned += any(row.counter != truth[row.pk] for row in group_items(0))
    return {**found, "pinned": pinned, "checked": len(hot) + 1}


def _pg() -> dict[str, Any]:
    return {"host": cache_common.PG["HOST"], "port": cache_common.PG["PORT"], "user": "postgres"}


def _committed(direct: Any, where: str, value: object) -> dict[int, int]:
    found = direct.execute(f"SELECT id, counter FROM cache_app_item WHERE {where}", [value])
    return {int(pk): int(counter) for pk, counter in found.fetchall()}


def available(mode: str) -> bool:
    if mode not in ("cachalot", "cacheops"):
        return True
    return importlib.util.find_spec(mode) is not None


def child(mode: str, args: argparse.Namespace, *, count: bool, stale: bool) -> dict[str, Any]:
    """Run one round of ``mode`` in a new process: throughput, then counts and stale serves."""
    command = [sys.executable, __file__, "--child", mode]
    command += ["--count"] if count else []
    command += ["--stale"] if stale else []
    command += ["--ops", str(args.ops), "--stale-seconds", str(args.stale_seconds)]
    out = subprocess.run(command, capture_output=True, text=True)
    if out.returncode:
        return {"failed": (out.stderr.strip().splitlines() or ["?"])[-1]}
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="at most")
    parser.add_argument("--ops", type=int, default=816, help="reads and writes a pass")
    parser.add_argument("--stale-seconds", type=float, default=3.0)
    parser.add_argument("--stale-rounds", type=int, default=1)
    parser.add_argument(
        "--budget",
        type=float,
        default=90,
        help="seconds for the whole run: no new round starts that would not fit (2 at least)",
    )
    parser.add_argument("--count", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--stale", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        reads = setup(args.child)
        result: dict[str, Any] = {"throughput": throughput(reads, args.ops, count=args.count)}
        if args.stale:
            result["stale"] = stale(reads, args.stale_seconds)
        print(json.dumps(result))
        return

    started = time.monotonic()
    modes = [m for m in MODES if available(m)]
    cache_common.create_database(DATABASE)
    runs: dict[str, list[dict[str, Any]]] = {m: [] for m in modes}
    stales: dict[str, list[dict[str, Any]]] = {m: [] for m in modes}
    try:
        cache_common.fill_database(DATABASE)
        slowest = 0.0
        for n in range(max(args.rounds, args.stale_rounds)):
            began = time.monotonic()
            for mode in modes[n % len(modes) :] + modes[: n % len(modes)]:
                found = child(mode, args, count=n == 0, stale=n < args.stale_rounds)
                runs[mode].append(found.get("throughput", found))
                if n < args.stale_rounds:
                    stales[mode].append(found.get("stale", found))
            took = time.monotonic() - began
            print(f"round {n + 1} done in {took:.0f} s", file=sys.stderr)
            # The next round starts only if it should end within the budget, were it as slow
            # as the slowest so far (less the stale-serve seconds of those that had them).
            if n < args.stale_rounds:
                took -= len(modes) * args.stale_seconds
            slowest = max(slowest, took)
            enough = n + 1 >= max(2, args.stale_rounds)
            if enough and time.monotonic() - started + slowest > args.budget:
                break
    finally:
        cache_common.drop_database(DATABASE)
        cache_common.flush_redis()
    report(runs, stales, args)
    missing = [m for m in MODES if m not in modes]
    if missing:
        print(f"not installed here: {', '.join(missing)} (benchmarks/run-cache-peers has them)")


def report(
    runs: dict[str, list[dict[str, Any]]],
    stales: dict[str, list[dict[str, Any]]],
    args: argparse.Namespace,
) -> None:
    reads = args.ops - args.ops // (READS_PER_WRITE + 1)
    rounds = max(len(results) for results in runs.values())
    print(
        f"ORM reads through each cache: {reads} reads (lists of 20 rows, rows by pk) and a write "
        f"every {READS_PER_WRITE}, PostgreSQL + Redis; median (min-max) of {rounds} interleaved "
        "rounds; vs none: the ratio within each round"
    )
    print(
        f"{'contender':12}{'reads/s':>20}{'vs none':>20}{'CPU µs/read':>13}{'SQL/read':>10}"
        f"{'RTs/read':>10}{'SQL/write':>11}{'RTs/write':>11}"
    )
    failed = {m: [r["failed"] for r in rs if "failed" in r] for m, rs in runs.items()}
    for mode, results in runs.items():
        if failed[mode] or not results:
            print(f"{mode:12}failed: {(failed[mode] or ['?'])[-1]}")
            continue
        speeds = [r["reads_per_s"] for r in results]
        ratio = "-"
        if not failed["none"]:
            ratio = cache_common.ratios(speeds, [r["reads_per_s"] for r in runs["none"]])
        first = results[0]
        cpu = statistics.median(r["cpu_us_per_read"] for r in results)
        print(
            f"{mode:12}{cache_common.spread(speeds, digits=0):>20}{ratio:>20}{cpu:13.0f}"
            f"{first['sql_per_read']:10.2f}{first['rt_per_read']:10.2f}{first['sql_per_write']:11.1f}"
            f"{first['rt_per_write']:11.1f}"
        )
    print(
        "CPU: this process's CPU time per read, writes included (the waits for PostgreSQL, Redis "
        "and other processes left out). SQL: statements that reached PostgreSQL; RTs: requests "
        "redis-py sent (a pipeline is one); counted in a pass after the first round's timed one."
    )
    if not args.stale_rounds:
        return
    print()
    print(
        f"stale serves: 1 writer ({HOT} hot rows, a write every {WRITE_PAUSE_S * 1000:g} ms at "
        f"most), 2 readers (a hot row by pk, or its list of 20), {args.stale_seconds:g} s x "
        f"{args.stale_rounds}; stale: served a counter below the one committed just before"
    )
    print(
        f"{'contender':12}{'reads':>8}{'writes':>8}{'stale':>8}{'after invalidation':>20}"
        f"{'latest (ms)':>13}{'pinned at end':>15}"
    )
    for mode, results in stales.items():
        failed = [r["failed"] for r in results if "failed" in r]
        if failed:
            print(f"{mode:12}failed: {failed[-1]}")
            continue
        total = {k: sum(r[k] for r in results) for k in results[0]}
        latest = max(r["late_ms"] for r in results)
        print(
            f"{mode:12}{total['reads']:8.0f}{total['writes']:8.0f}{total['stale']:8.0f}"
            f"{total['after_invalidation']:20.0f}{latest:13.1f}"
            f"{total['pinned']:>9.0f} of {total['checked']:.0f}"
        )
    print(
        "after invalidation: stale although the write of the newer value had returned "
        "(committed, invalidated) before the read began; latest: the longest such time. "
        "pinned at end: reads still stale 0.2 s after the writer stopped."
    )


if __name__ == "__main__":
    os.environ.pop("DJANGO_SETTINGS_MODULE", None)
    main()
