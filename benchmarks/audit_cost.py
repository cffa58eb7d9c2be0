"""What an audit costs per page, against plain test-client requests of the same pages.

Two modes run in separate processes, interleaved round after round so that the machine's
noise falls on both alike, on one seeded copy of the demo shop:

- ``plain``: the demo shop with pagedoctor idle (installed, as its templates need, but no
  middleware and nothing recording); each page requested once to warm its caches, then
  ``--passes`` more times with Django's test client, timed;
- ``audit``: what ``pagedoctor audit`` does after preparing the demo: request each page twice
  under a recording in a rolled-back transaction, analyze (diagnose, verify each fix by
  re-running its page, EXPLAIN and try indexes), build the report, render it and write JSON.

A third measure, ``cli``, is the wall time of the whole ``pagedoctor audit`` command as a user
runs it (process start, Django set-up, the demo's idempotent migrate and seed, the audit).

Run it with the project's virtualenv: ``python benchmarks/audit_cost.py [--rounds 3]``.
It prints medians and the ratio of audit to plain time per page; absolute times on a shared
machine mean little.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODES = ("plain", "audit")


def setup(mode: str) -> list[str]:
    """Set Django up for ``mode`` in this process; return the demo's audit URLs."""
    import django

    os.environ["DJANGO_SETTINGS_MODULE"] = "pagedoctor.demo.settings"
    import pagedoctor.demo.settings as demo

    if mode == "plain":
        # Installed (the demo's templates load its tags) but idle: no middleware, no recording.
        demo.MIDDLEWARE = [m for m in demo.MIDDLEWARE if not m.startswith("pagedoctor.")]
        demo.PAGEDOCTOR = {**demo.PAGEDOCTOR, "SAMPLE_RATE": 0.0}
    demo.LOGGING = {"version": 1, "disable_existing_loggers": False}
    django.setup()
    urls: list[str] = list(demo.PAGEDOCTOR["AUDIT_URLS"])
    return urls


def measure_plain(passes: int) -> dict[str, float]:
    """Request every page once to warm up, then ``passes`` times; return ms per page."""
    from django.test import Client

    urls = setup("plain")
    client = Client()
    for url in urls:
        assert client.get(url).status_code == 200, url
    started = time.perf_counter()
    for _ in range(passes):
        for url in urls:
            client.get(url)
    return {"page_ms": (time.perf_counter() - started) * 1000 / (passes * len(urls))}


def measure_audit() -> dict[str, float]:
    """Run the audit's steps on every page; return ms per page in all and per step."""
    from django.test import Client, override_settings
    from rich.console import Console

    urls = setup("audit")
    from pagedoctor.audit.analysis import analyze
    from pagedoctor.audit.budget import judge, read_gate
    from pagedoctor.audit.command import audit_overrides
    from pagedoctor.audit.runner import audit_pages
    from pagedoctor.report.json import build_report, write_json
    from pagedoctor.report.terminal import render_terminal, render_verdict

    steps: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        steps[name] = (now - clock) * 1000 / len(urls)
        clock = now

    with override_settings(**audit_overrides()):
        result = audit_pages(urls, repeat=2, client=Client())
        lap("request_ms")
        analyze(result)
        lap("analyze_ms")
    report = build_report(result)
    status = judge(report, read_gate(budget=None, baseline=None, baseline_map=()))
    console = Console(file=io.StringIO(), width=100)
    render_terminal(report, console=console)
    render_verdict(report, status=status, console=console)
    write_json(report, os.devnull)
    lap("report_ms")
    assert all(page.ok for page in result.pages), "a demo page failed"
    return {"page_ms": sum(steps.values()), **steps}


def measure_cli(env: dict[str, str]) -> dict[str, float]:
    """Return the wall time of ``pagedoctor audit`` on the demo, as a user runs it."""
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "pagedoctor", "audit", "--quiet"],
        env={**env, "DJANGO_SETTINGS_MODULE": ""},
        check=True,
        capture_output=True,
    )
    return {"wall_s": time.perf_counter() - started}


def run_child(mode: str, passes: int, env: dict[str, str]) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, "--passes", str(passes)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--passes", type=int, default=3, help="plain passes over the pages")
    parser.add_argument("--products", type=int, default=None, help="default: seed_demo's")
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        measured = measure_plain(args.passes) if args.child == "plain" else measure_audit()
        print(json.dumps(measured))
        return

    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "PAGEDOCTOR_DEMO_SQLITE": str(Path(tmp) / "bench.sqlite3")}
        django_env = {**env, "DJANGO_SETTINGS_MODULE": "pagedoctor.demo.settings"}
        subprocess.run(
            [sys.executable, "-m", "django", "migrate", "-v0"], env=django_env, check=True
        )
        seed = [sys.executable, "-m", "django", "seed_demo", "-v0"]
        if args.products:
            seed += ["--products", str(args.products)]
        subprocess.run(seed, env=django_env, check=True)
        results: dict[str, list[dict[str, float]]] = {mode: [] for mode in (*MODES, "cli")}
        for n in range(args.rounds):
            for mode in MODES:
                results[mode].append(run_child(mode, args.passes, env))
            results["cli"].append(measure_cli(env))
            print(f"round {n + 1}/{args.rounds} done", file=sys.stderr)

    def median(mode: str, key: str) -> float:
        return statistics.median(r[key] for r in results[mode])

    plain, audit = median("plain", "page_ms"), median("audit", "page_ms")
    print(f"audit cost per demo page, medians of {args.rounds} interleaved rounds")
    print(f"{'':34}{'ms/page':>10}{'x plain':>10}")
    print(f"{'plain test-client request':34}{plain:10.1f}{1:10.2f}")
    for key, label in (
        ("request_ms", "  audit: request twice, recorded"),
        ("analyze_ms", "  audit: diagnose, verify, indexes"),
        ("report_ms", "  audit: report (JSON, terminal)"),
    ):
        value = median("audit", key)
        print(f"{label:34}{value:10.1f}{value / plain:10.2f}")
    print(f"{'audit in all':34}{audit:10.1f}{audit / plain:10.2f}")
    print(
        f"whole `pagedoctor audit` on the demo ({len(setup_urls())} pages, with demo set-up): "
        f"{median('cli', 'wall_s'):.1f} s wall (min {min(r['wall_s'] for r in results['cli']):.1f},"
        f" max {max(r['wall_s'] for r in results['cli']):.1f})"
    )


def setup_urls() -> list[str]:
    """Return the demo's audit URLs without setting Django up."""
    import pagedoctor.demo.settings as demo

    return list(demo.PAGEDOCTOR["AUDIT_URLS"])


if __name__ == "__main__":
    main()
