"""What a hit and a miss of ``@pagedoctor.cache.cached`` cost, beside ``cache.get`` and ``set``.

For each cache backend (locmem, and Redis db 5 on 127.0.0.1:6379), in a process of its own,
with pagedoctor installed (its recording hooks on every cache, nothing recording):

- hits: ``cache.get`` of a value versus a hit of a ``@cached`` function that returns the same
  value, for a list (20 rows by a column: depends on the table) and a row by primary key
  (depends on the row); ``cache.get`` is also timed on a cache object made without
  pagedoctor's hooks. Each call's cache operations are counted with ``pagedoctor.record()``
  and, on Redis, the requests redis-py sends (round trips);
- misses: ``cache.get`` + computing the list + ``cache.set`` after a ``cache.delete``, versus
  a ``@cached`` call after ``pagedoctor.cache.invalidate()`` made its value outdated (computed
  with its dependencies tracked, and stored), and the computation alone.

The contenders run interleaved, in a new order each repetition, until ``--reps`` or the
``--budget`` seconds of each backend (3 reps at least); it prints medians with the min-max over
repetitions, ratios to ``cache.get`` (hits) and to get + compute + set (misses) taken within each
repetition, and the same for this process's CPU time, which the machine's other load disturbs
less. The list is read from SQLite in memory, or with ``--db postgres`` from a database of its
own on 127.0.0.1:5432 (created and dropped). Run it with the project's virtualenv:
``python benchmarks/cache_hit.py [--reps 11]``. Absolute times on a shared machine mean little.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import cache_common

BACKENDS = ("locmem", "redis")
HITS = ("get, no hooks", "get", "@cached hit")
MISSES = ("compute only", "get+compute+set", "@cached miss")
PG_DATABASE = "pagedoctor_bench_cache_hit"


def measure(
    backend: str, database: str, reps: int, calls: int, misses: int, budget: float
) -> dict[str, Any]:
    """Time hits and misses on ``backend`` in this process; return µs per call per rep.

    Stops after the rep that goes past ``budget`` seconds (but not before 3 reps).
    """
    cache_common.configure(mode="pagedoctor", database=database, cache=backend)
    from cache_app.models import Item
    from django.core.cache import caches
    from django.core.cache.backends.locmem import LocMemCache
    from django.core.cache.backends.redis import RedisCache

    import pagedoctor
    import pagedoctor.cache as pdcache
    from pagedoctor.cache import stats

    if database == "sqlite":
        cache_common.create_schema_and_rows()
    if backend == "redis":
        cache_common.flush_redis()
    cache = caches["default"]
    unhooked = (
        RedisCache(cache_common.REDIS_URL, {}) if backend == "redis" else LocMemCache("b", {})
    )

    def compute_list() -> list[tuple[int, str, int]]:
        return list(
            Item.objects.filter(group=3).order_by("id").values_list("id", "name", "counter")
        )

    @pdcache.cached
    def group_rows(group: int) -> list[tuple[int, str, int]]:
        return list(
            Item.objects.filter(group=group).order_by("id").values_list("id", "name", "counter")
        )

    @pdcache.cached
    def item(pk: int) -> Item:
        return Item.objects.get(pk=pk)

    @pdcache.cached(tags=["bench-miss"])
    def group_rows_missed(group: int) -> list[tuple[int, str, int]]:
        return list(
            Item.objects.filter(group=group).order_by("id").values_list("id", "name", "counter")
        )

    pk = Item.objects.order_by("id").values_list("id", flat=True)[7]
    group_rows_missed(3)  # stored once, so each timed miss finds an outdated value, not none
    cache.set("bench:list", group_rows(3), 300)
    cache.set("bench:row", item(pk), 300)
    assert cache.get("bench:list") == group_rows(3) == compute_list()
    assert unhooked.get("bench:row") == item(pk)

    kinds: dict[str, dict[str, Callable[[], object]]] = {
        "list": {
            "get, no hooks": lambda: unhooked.get("bench:list"),
            "get": lambda: cache.get("bench:list"),
            "@cached hit": lambda: group_rows(3),
        },
        "row": {
            "get, no hooks": lambda: unhooked.get("bench:row"),
            "get": lambda: cache.get("bench:row"),
            "@cached hit": lambda: item(pk),
        },
    }

    def forget_plain() -> None:
        cache.delete("bench:plain")

    def plain_miss() -> object:
        value = cache.get("bench:plain")
        if value is None:
            value = compute_list()
            cache.set("bench:plain", value, 300)
        return value

    # name: (what makes the next call a miss, untimed; the call)
    missing: dict[str, tuple[Callable[[], object], Callable[[], object]]] = {
        "compute only": (lambda: None, compute_list),
        "get+compute+set": (forget_plain, plain_miss),
        "@cached miss": (lambda: pdcache.invalidate("bench-miss"), lambda: group_rows_missed(3)),
    }

    def timed_misses(
        prepare: Callable[[], object], call: Callable[[], object]
    ) -> tuple[float, float]:
        spent = cpu = 0.0
        for _ in range(misses):
            prepare()
            started, started_cpu = time.perf_counter(), time.thread_time()
            call()
            spent += time.perf_counter() - started
            cpu += time.thread_time() - started_cpu
        return spent / misses * 1e6, cpu / misses * 1e6

    counts: dict[str, dict[str, int]] = {}
    trips = cache_common.RoundTrips()
    trips.install()
    every = {
        f"{kind}/{name}": (None, call) for kind, c in kinds.items() for name, call in c.items()
    }
    every |= {f"miss/{name}": pair for name, pair in missing.items()}
    for key, (prepare, call) in every.items():
        if key.endswith("no hooks"):
            continue  # the same call as "get", which pagedoctor.record() can see
        if prepare is not None:
            prepare()
        with pagedoctor.record() as recording, trips.counting():
            call()
        counts[key] = {"ops": len(recording.cache_calls), "rt": trips.count}

    before = stats.totals().get("default", {})
    timings: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}
    deadline = time.monotonic() + budget
    done = 0
    for rep in range(reps):
        for kind, contenders in kinds.items():
            names = list(contenders)
            names = names[rep % len(names) :] + names[: rep % len(names)]
            for name in names:
                call = contenders[name]
                started, started_cpu = time.perf_counter(), time.thread_time()
                for _ in range(calls):
                    call()
                elapsed = time.perf_counter() - started
                timings.setdefault(f"{kind}/{name}", []).append(elapsed / calls * 1e6)
                used = time.thread_time() - started_cpu
                cpu.setdefault(f"{kind}/{name}", []).append(used / calls * 1e6)
        names = list(missing)
        names = names[rep % len(names) :] + names[: rep % len(names)]
        for name in names:
            wall, used = timed_misses(*missing[name])
            timings.setdefault(f"miss/{name}", []).append(wall)
            cpu.setdefault(f"miss/{name}", []).append(used)
        done += 1
        if done >= 3 and time.monotonic() > deadline:
            break
    after = stats.totals()["default"]
    # Every timed @cached call was what it is said to be: hits were hits, misses were stored.
    assert after["hits"] - before.get("hits", 0) == 2 * done * calls, (before, after)
    assert after["misses"] - before.get("misses", 0) == done * misses, (before, after)
    assert after["unstored"] - before.get("unstored", 0) == 0, "a miss was not stored"
    if backend == "redis":
        cache_common.flush_redis()
    return {"timings": timings, "cpu": cpu, "counts": counts, "reps": done}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=11, help="at most")
    parser.add_argument("--calls", type=int, default=1000, help="hits per contender per rep")
    parser.add_argument("--misses", type=int, default=100, help="misses per contender per rep")
    parser.add_argument(
        "--budget", type=float, default=50, help="seconds a backend may take (3 reps at least)"
    )
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--child", choices=BACKENDS, help=argparse.SUPPRESS)
    parser.add_argument("--database", default="sqlite", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = measure(args.child, args.database, args.reps, args.calls, args.misses, args.budget)
        print(json.dumps(result))
        return

    backends = [b for b in args.backends.split(",") if b]
    database = "sqlite"
    if args.db == "postgres":
        database = PG_DATABASE
        cache_common.create_database(database)
        cache_common.fill_database(database)
    results: dict[str, dict[str, Any]] = {}
    try:
        for backend in backends:
            command = [sys.executable, __file__, "--child", backend, "--database", database]
            command += ["--reps", str(args.reps), "--calls", str(args.calls)]
            command += ["--misses", str(args.misses), "--budget", str(args.budget)]
            out = subprocess.run(command, check=True, capture_output=True, text=True)
            results[backend] = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"{backend} done", file=sys.stderr)
    finally:
        if args.db == "postgres":
            cache_common.drop_database(database)
    report(results, args)


def report(results: dict[str, dict[str, Any]], args: argparse.Namespace) -> None:
    reps = ", ".join(f"{backend}: {result['reps']} reps" for backend, result in results.items())
    print(
        "@cached hits beside cache.get of the same value: µs per call, median (min-max) over "
        f"interleaved reps of {args.calls} calls ({reps}); pagedoctor installed, not recording"
    )
    print(_head("vs get"))
    for backend, result in results.items():
        for kind in ("list", "row"):
            for name in HITS:
                # "no hooks" is the same call as "get", which pagedoctor.record() can see.
                counted = name if name in HITS[1:] else "get"
                _row(backend, kind, name, result, f"{kind}/{name}", f"{kind}/get", counted)
    print()
    print(
        f"misses: µs per call, median (min-max) over the same reps, of {args.misses} misses of "
        f"the 20-row list each, read from {args.db}"
    )
    print(_head("vs get+compute+set"))
    for backend, result in results.items():
        for name in MISSES:
            _row(backend, "list", name, result, f"miss/{name}", "miss/get+compute+set", name)
    print(
        "CPU: this process's CPU time (the waits for Redis, the database and other processes "
        "left out). ops: cache operations pagedoctor.record() saw in one call; RTs: requests "
        "redis-py sent (a pipeline is one). Ratios are taken within each rep. 'no hooks': a "
        "cache object made without pagedoctor's hooks."
    )


def _head(base: str) -> str:
    return (
        f"{'backend':8}{'value':6}{'contender':16}{'µs/call':>26}{base:>20}{'CPU µs':>9}"
        f"{'CPU ratio':>11}{'ops':>5}{'RTs':>5}"
    )


def _row(
    backend: str, kind: str, name: str, result: dict[str, Any], key: str, base: str, counted: str
) -> None:
    wall, cpu = result["timings"], result["cpu"]
    found = result["counts"][key.replace(name, counted)]
    trips = str(found["rt"]) if backend == "redis" else "-"
    cpu_ratio = statistics.median(c / b for c, b in zip(cpu[key], cpu[base], strict=True))
    print(
        f"{backend:8}{kind:6}{name:16}{cache_common.spread(wall[key]):>26}"
        f"{cache_common.ratios(wall[key], wall[base]):>20}{statistics.median(cpu[key]):9.1f}"
        f"{cpu_ratio:11.2f}{found['ops']:5d}{trips:>5}"
    )


if __name__ == "__main__":
    main()
