"""What finding N+1 queries costs, side by side with django-zeal and nplusone.

One workload, an N+1 on purpose (each pizza's chef, loaded once per pizza: 31 queries a
"request"), runs in separate processes, interleaved round after round:

- ``off``: plain Django;
- ``record``: inside ``pagedoctor.record()``;
- ``diagnose``: recorded, then ``pagedoctor.diagnose()`` after each request;
- ``zeal``: inside ``zeal_context()`` (django-zeal, warnings instead of errors);
- ``nplusone``: inside nplusone's ``Profiler`` (counting its notifications).

The last two run only where those packages import: ``benchmarks/run-detection`` makes a
virtualenv with them. Prints medians of microseconds per query and ratios to ``off``, and
whether each tool reported the N+1.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import warnings
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

MODES = ("off", "record", "diagnose", "zeal", "nplusone")
APPS = {"zeal": "zeal", "nplusone": "nplusone.ext.django"}


def measure(mode: str, requests: int) -> dict[str, float]:
    """Run the workload ``requests`` times in this process; return µs per query, detections."""
    import time

    import django

    os.environ["DJANGO_SETTINGS_MODULE"] = "pagedoctor.demo.settings"
    import pagedoctor.demo.settings as demo

    if mode in APPS:
        demo.INSTALLED_APPS = [*demo.INSTALLED_APPS, APPS[mode]]
    demo.ZEAL_RAISE = False
    django.setup()

    import pagedoctor
    from pagedoctor.demo.shop.models import Pizza

    detections = 0

    def scope() -> AbstractContextManager[Any]:
        if mode in ("record", "diagnose"):
            return pagedoctor.record()
        if mode == "zeal":
            from zeal import zeal_context

            return zeal_context()
        if mode == "nplusone":
            from nplusone.core.profiler import Profiler

            class Counting(Profiler):  # type: ignore[misc]
                def notify(self, message: object) -> None:
                    nonlocal detections
                    detections += 1

            return Counting()
        return nullcontext()

    def request() -> int:
        nonlocal detections
        with warnings.catch_warnings(record=True) as caught, scope() as recording:
            warnings.simplefilter("always")
            names = [pizza.chef.name for pizza in Pizza.objects.all()]
        if mode == "diagnose":
            detections += sum(1 for f in pagedoctor.diagnose(recording) if f.kind == "n_plus_one")
        if mode == "zeal":
            detections += sum(1 for w in caught if "N+1" in str(w.message))
        return len(names) + 1

    request()
    detections = 0
    queries = 0
    started = time.perf_counter()
    for _ in range(requests):
        queries += request()
    per_query = (time.perf_counter() - started) / queries * 1e6
    return {"query_us": per_query, "detected": detections / requests}


def available(mode: str) -> bool:
    module = {"zeal": "zeal", "nplusone": "nplusone"}.get(mode)
    if module is None:
        return True
    probe = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True)
    return probe.returncode == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.requests)))
        return

    modes = [m for m in MODES if available(m)]
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "PAGEDOCTOR_DEMO_SQLITE": str(Path(tmp) / "bench.sqlite3")}
        django_env = {**env, "DJANGO_SETTINGS_MODULE": "pagedoctor.demo.settings"}
        for command in (["migrate", "-v0"], ["seed_demo", "--products", "1000", "-v0"]):
            subprocess.run([sys.executable, "-m", "django", *command], env=django_env, check=True)
        results: dict[str, list[dict[str, float]]] = {m: [] for m in modes}
        failed: dict[str, str] = {}
        for n in range(args.rounds):
            for mode in modes:
                if mode in failed:
                    continue
                run = subprocess.run(
                    [sys.executable, __file__, "--child", mode, "--requests", str(args.requests)],
                    env=env,
                    capture_output=True,
                    text=True,
                )
                if run.returncode:
                    failed[mode] = (run.stderr.strip().splitlines() or ["?"])[-1]
                    continue
                results[mode].append(json.loads(run.stdout.strip().splitlines()[-1]))
            print(f"round {n + 1}/{args.rounds} done", file=sys.stderr)

    off = statistics.median(r["query_us"] for r in results["off"])
    print(f"N+1 detection cost, medians of {args.rounds} interleaved rounds (lower is better)")
    print(f"{'mode':12}{'µs/query':>10}{'vs off':>9}  reported the N+1")
    for mode in modes:
        if mode in failed:
            print(f"{mode:12}{'failed':>10}{'':>9}  {failed[mode]}")
            continue
        us = statistics.median(r["query_us"] for r in results[mode])
        detected = results[mode][-1]["detected"]
        said = {"off": "-", "record": "- (records only)"}.get(mode, "yes" if detected else "no")
        print(f"{mode:12}{us:10.1f}{us / off:9.2f}  {said}")
    missing = [m for m in MODES if m not in modes]
    if missing:
        print(f"not installed here: {', '.join(missing)} (benchmarks/run-detection installs them)")


if __name__ == "__main__":
    main()
