"""What recording costs: per query and per request, against a site without pagedoctor.

Three modes run in separate processes, interleaved round after round so that the machine's
noise falls on all of them alike:

- ``off``: the demo shop without pagedoctor (not in INSTALLED_APPS, no middleware, no hooks);
- ``idle``: pagedoctor installed, hooks in place, nothing recording (SAMPLE_RATE = 0);
- ``record``: every query and request recorded.

Run it with the project's virtualenv: ``python benchmarks/overhead.py [--rounds 5]``.
It prints medians and ratios to ``off``; absolute times on a shared machine mean little.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODES = ("off", "idle", "record")
PAGES = ("/pizzas/", "/fixed/pizzas/", "/products/", "/team/")


def measure(mode: str, queries: int, requests: int) -> dict[str, float]:
    """Measure one mode in this process; return microseconds per query and per request."""
    import django
    from django.conf import settings

    os.environ["DJANGO_SETTINGS_MODULE"] = "pagedoctor.demo.settings"
    import pagedoctor.demo.settings as demo

    apps = list(demo.INSTALLED_APPS)
    middleware = list(demo.MIDDLEWARE)
    if mode == "off":
        apps.remove("pagedoctor")
        middleware.remove("pagedoctor.middleware.PagedoctorMiddleware")
    demo.INSTALLED_APPS = apps
    demo.MIDDLEWARE = middleware
    demo.PAGEDOCTOR = {**demo.PAGEDOCTOR, "SAMPLE_RATE": 1.0 if mode == "record" else 0.0}
    demo.LOGGING = {"version": 1, "disable_existing_loggers": False}
    django.setup()
    assert settings.configured

    from django.db import connection
    from django.test import Client

    from pagedoctor.demo.shop.models import Pizza

    recording = None
    if mode == "record":
        import pagedoctor

        recording = pagedoctor.record(max_events=10 * queries)
        recording.__enter__()

    # Per query: the ORM's cheapest real statement, the same in every mode.
    Pizza.objects.filter(pk=1).exists()
    started = time.perf_counter()
    for _ in range(queries):
        Pizza.objects.filter(pk=1).exists()
    per_query = (time.perf_counter() - started) / queries * 1e6
    if recording is not None:
        recording.__exit__(None, None, None)
        assert len(recording.queries) == queries + 1, "the record mode recorded nothing"

    client = Client()
    for page in PAGES:
        assert client.get(page).status_code == 200, page
    started = time.perf_counter()
    for _ in range(requests):
        for page in PAGES:
            client.get(page)
    per_request = (time.perf_counter() - started) / (requests * len(PAGES)) * 1e6
    connection.close()
    return {"query_us": per_query, "request_us": per_request}


def run_round(mode: str, queries: int, requests: int, env: dict[str, str]) -> dict[str, float]:
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            mode,
            "--queries",
            str(queries),
            "--requests",
            str(requests),
        ],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--queries", type=int, default=3000)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.queries, args.requests)))
        return

    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "PAGEDOCTOR_DEMO_SQLITE": str(Path(tmp) / "bench.sqlite3")}
        subprocess.run(
            [sys.executable, "-m", "django", "migrate", "-v0"],
            env={**env, "DJANGO_SETTINGS_MODULE": "pagedoctor.demo.settings"},
            check=True,
        )
        subprocess.run(
            [sys.executable, "-m", "django", "seed_demo", "--products", "5000", "-v0"],
            env={**env, "DJANGO_SETTINGS_MODULE": "pagedoctor.demo.settings"},
            check=True,
        )
        results: dict[str, list[dict[str, float]]] = {mode: [] for mode in MODES}
        for n in range(args.rounds):
            for mode in MODES:
                results[mode].append(run_round(mode, args.queries, args.requests, env))
            print(f"round {n + 1}/{args.rounds} done", file=sys.stderr)

    def median(mode: str, key: str) -> float:
        return statistics.median(r[key] for r in results[mode])

    print(f"pagedoctor overhead, medians of {args.rounds} interleaved rounds (lower is better)")
    print(f"{'':28}{'off':>10}{'idle':>10}{'record':>10}{'idle/off':>10}{'record/off':>12}")
    for key, label in (("query_us", "per query (µs)"), ("request_us", "per demo request (µs)")):
        off, idle, rec = (median(m, key) for m in MODES)
        print(f"{label:28}{off:10.1f}{idle:10.1f}{rec:10.1f}{idle / off:10.3f}{rec / off:12.3f}")
    print(
        f"pages: {', '.join(PAGES)}; per round {args.queries} queries, "
        f"{args.requests} requests a page"
    )


if __name__ == "__main__":
    main()
